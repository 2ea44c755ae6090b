using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;

namespace DeviceTrust.LoadTest;

/// <summary>
/// <c>mdm-sync</c>: what an operator's sync of a fleet costs, through the real <c>dtctl devices sync</c>. Writes an
/// export of N Macs, syncs it (all created), syncs it again unchanged, then syncs one with 3 devices changed and 2
/// gone with --track-missing, confirming the deletion of exactly those two, then one where every device changed; prints each run's wall time and rate as
/// dtctl reports them, and checks its counts.
/// </summary>
public static class MdmSyncScenario
{
    private static readonly JsonSerializerOptions Compact = new();
    private static readonly string[] Usernames = ["user"];

    public static Command Create()
    {
        var count = new Option<int>("--devices") { DefaultValueFactory = _ => 10_000, Description = "Devices in the export" };
        var dtctl = new Option<string>("--dtctl") { DefaultValueFactory = _ => "cli/dtctl/bin/Release/net10.0/dtctl.dll", Description = "dtctl.dll to run" };
        var command = new Command("mdm-sync", "Sync an export of N devices through dtctl: created, unchanged, then 3 changed and 2 missing") { count, dtctl };
        command.SetAction(async (result, cancellationToken) =>
        {
            var n = result.GetValue(count);
            var run = Guid.NewGuid().ToString("N")[..6];
            var source = "loadtest-" + run;
            var folder = Directory.CreateTempSubdirectory("dt-mdm-sync.");
            try
            {
                var fleet = Enumerable.Range(0, n).Select(i => (Serial: $"MDM{run.ToUpperInvariant()}{i:D7}", OsVersion: "14.5")).ToList();
                var first = Write(folder, "first.json", fleet);
                var changed = fleet.Take(n - 2).Select((d, i) => i < 3 ? d with { OsVersion = "14.6" } : d).ToList();
                var second = Write(folder, "second.json", changed);
                var upgraded = Write(folder, "upgraded.json", changed.Select(d => d with { OsVersion = "14.7" }).ToList());

                await SyncAsync(result.GetValue(dtctl)!, source, first, "", $"{n} created, 0 updated, 0 unchanged, 0 failed", "first sync (all created)", cancellationToken);
                await SyncAsync(result.GetValue(dtctl)!, source, first, "", $"0 created, 0 updated, {n} unchanged, 0 failed", "second sync (nothing changed)", cancellationToken);
                await SyncAsync(result.GetValue(dtctl)!, source, second, "delete 2\n", $"0 created, 3 updated, {n - 5} unchanged, 0 failed, 0 unenrolled; 2 missing, 2 deleted",
                    "third sync (3 changed, 2 missing, deletion confirmed)", cancellationToken, "--track-missing");
                // A macOS update across the fleet: every device's profile changes, a grain update each.
                await SyncAsync(result.GetValue(dtctl)!, source, upgraded, "", $"0 created, {n - 2} updated, 0 unchanged, 0 failed",
                    "fourth sync (every device changed)", cancellationToken);
                return 0;
            }
            finally
            {
                folder.Delete(recursive: true);
            }
        });
        return command;
    }

    private static string Write(DirectoryInfo folder, string name, List<(string Serial, string OsVersion)> fleet)
    {
        var path = Path.Combine(folder.FullName, name);
        var devices = fleet.Select(d => new Dictionary<string, object>
        {
            ["os"] = "macos",
            ["serial_number"] = d.Serial,
            ["model_identifier"] = "MacBookPro18,3",
            ["os_version"] = d.OsVersion,
            ["os_build"] = "23F79",
            ["os_usernames"] = Usernames,
            ["external_id"] = "jamf-" + d.Serial,
            ["assigned_user"] = d.Serial.ToLowerInvariant() + "@example.com",
        });
        File.WriteAllText(path, JsonSerializer.Serialize(new { devices }, Compact));
        return path;
    }

    private static async Task SyncAsync(string dtctl, string source, string file, string stdin, string expected, string what, CancellationToken cancellationToken,
        params string[] more)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in new[] { dtctl, "devices", "sync", "--source", "jamf", "--source-name", source, "--file", file }.Concat(more))
        {
            start.ArgumentList.Add(argument);
        }
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(start)!;
        await process.StandardInput.WriteAsync(stdin);
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var errors = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        var wall = clock.Elapsed;
        var summary = (await output).Split('\n').LastOrDefault(l => l.Contains(" devices/s)", StringComparison.Ordinal)) ?? "";
        if (process.ExitCode != 0 || !summary.Contains(expected, StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"{what}: dtctl exited {process.ExitCode}, expected \"{expected}\":\n{summary}\n{await errors}");
        }
        Console.WriteLine($"{what}: {wall.TotalSeconds:F1} s with dtctl's start-up and file check; dtctl says: {summary.Trim()}");
    }
}
