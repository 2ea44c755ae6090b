using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using DeviceTrust.Client.Output;
using DeviceTrust.Client.Profiles;
using DeviceTrust.Core.Devices;
using DeviceTrust.Core.Errors;
using DeviceTrust.Proto.V1;
using Grpc.Core;
using DeviceProfile = DeviceTrust.Proto.V1.DeviceProfile;
using DeviceSource = DeviceTrust.Proto.V1.DeviceSource;
using MdmDevice = DeviceTrust.Proto.V1.MdmDevice;

namespace DeviceTrust.Cli.Dtctl.Devices;

/// <summary>
/// <c>dtctl devices sync --source jamf|intune --file EXPORT [--format json|jamf-csv|intune-csv] [--source-name NAME]
/// [--track-missing] [--dry-run]</c>: the whole file is read and checked first (a malformed row stops the sync with its
/// line, before anything is sent), then streamed to SyncInventory a thousand devices at a time. Missing devices are
/// listed and deleted only when the person at the terminal types the confirmation (twice above the cluster's share).
/// </summary>
public static class DevicesSyncCommand
{
    private const int Batch = 1000;

    public static Command Create(ProfileStore store)
    {
        var source = new Option<string>("--source") { Description = "The MDM: jamf or intune", Required = true };
        var file = new Option<string>("--file", "-f") { Description = "The export: JSON (docs/mdm-sync.md) or the MDM's CSV", Required = true };
        var format = new Option<string?>("--format")
        {
            Description = "json, jamf-csv or intune-csv (default: json for .json files, the source's CSV for .csv files)",
        };
        var name = new Option<string?>("--source-name") { Description = "The MDM instance, when you sync several of one kind (default: the source)" };
        var trackMissing = new Option<bool>("--track-missing") { Description = "List devices of this source the export no longer has, and offer to delete them" };
        var dryRun = new Option<bool>("--dry-run") { Description = "Show what would change; change nothing" };
        var command = new Command("sync", "Bring the inventory in step with an MDM export") { source, file, format, name, trackMissing, dryRun };
        command.SetAction((result, cancellationToken) => CliRunner.RunAsync(async () =>
        {
            var origin = result.GetValue(source) switch
            {
                "jamf" => DeviceSource.Jamf,
                "intune" => DeviceSource.Intune,
                var other => throw DeviceTrustException.InvalidArgument($"--source must be jamf or intune, not \"{other}\""),
            };
            var path = result.GetValue(file)!;
            var kind = MdmInventory.FormatOf(result.GetValue(format) ?? DefaultFormat(path, origin), path);
            var devices = MdmInventory.Parse(Read(path), kind);
            Console.Error.WriteLine($"Read {devices.Count} devices from {Path.GetFileName(path)} ({kind switch { MdmFileFormat.JamfCsv => "jamf-csv", MdmFileFormat.IntuneCsv => "intune-csv", _ => "json" }}).");

            using var client = AdminClient.Open(store);
            using var call = client.Devices.SyncInventory(cancellationToken: cancellationToken);
            var start = new SyncInventoryStart
            {
                Source = origin,
                SourceName = result.GetValue(name) ?? "",
                TrackMissing = result.GetValue(trackMissing),
                DryRun = result.GetValue(dryRun),
            };
            var clock = Stopwatch.StartNew();
            await call.RequestStream.WriteAsync(new SyncInventoryRequest { Start = start }, cancellationToken);
            var totals = new SyncInventorySummary();
            foreach (var chunk in devices.Chunk(Batch))
            {
                var message = new SyncInventoryDevices();
                message.Devices.AddRange(chunk.Select(Wire));
                await call.RequestStream.WriteAsync(new SyncInventoryRequest { Devices = message }, cancellationToken);
                if (!await call.ResponseStream.MoveNext(cancellationToken) || call.ResponseStream.Current.PayloadCase != SyncInventoryResponse.PayloadOneofCase.Results)
                {
                    throw DeviceTrustException.InvalidArgument("the gateway ended the sync early");
                }
                foreach (var item in call.ResponseStream.Current.Results.Results)
                {
                    Count(totals, item);
                    // The gateway counts devices from 1 in the order they were sent: the file's order.
                    Console.WriteLine(Line(item, item.Index is > 0 and var n && n <= devices.Count ? devices[n - 1].Line : 0));
                }
                Console.Error.WriteLine($"  {totals.Created + totals.Updated + totals.Unchanged + totals.Failed}/{devices.Count} devices: {totals.Created} created, "
                                        + $"{totals.Updated} updated, {totals.Unchanged} unchanged, {totals.Failed} failed");
            }
            await call.RequestStream.WriteAsync(new SyncInventoryRequest { End = new SyncInventoryEnd() }, cancellationToken);

            SyncInventorySummary? summary = null;
            while (summary is null && await call.ResponseStream.MoveNext(cancellationToken))
            {
                var answer = call.ResponseStream.Current;
                if (answer.PayloadCase == SyncInventoryResponse.PayloadOneofCase.Summary)
                {
                    summary = answer.Summary;
                }
                else if (answer.PayloadCase == SyncInventoryResponse.PayloadOneofCase.Missing)
                {
                    var confirm = Confirm(answer.Missing, start);
                    if (confirm is null)
                    {
                        await call.RequestStream.CompleteAsync();
                    }
                    else
                    {
                        await call.RequestStream.WriteAsync(new SyncInventoryRequest { Confirm = confirm }, cancellationToken);
                        await call.RequestStream.CompleteAsync();
                    }
                }
            }
            if (summary is null)
            {
                throw DeviceTrustException.InvalidArgument("the gateway ended the sync without a summary");
            }
            var seconds = clock.Elapsed.TotalSeconds;
            Console.WriteLine(
                $"{(summary.DryRun ? "Dry run (nothing changed): " : "")}{devices.Count} devices from {(start.SourceName.Length > 0 ? start.SourceName : result.GetValue(source))} "
                + $"in {seconds.ToString("F1", CultureInfo.InvariantCulture)} s ({(devices.Count / Math.Max(seconds, 0.001)).ToString("F0", CultureInfo.InvariantCulture)} devices/s): "
                + $"{summary.Created} created, {summary.Updated} updated, {summary.Unchanged} unchanged, {summary.Failed} failed, {summary.Unenrolled} unenrolled"
                + (start.TrackMissing ? $"; {summary.Missing} missing, {summary.Deleted} deleted" : ""));
            return summary.Failed > 0 ? 1 : 0;
        }));
        return command;
    }

    private static string DefaultFormat(string path, DeviceSource source) =>
        Path.GetExtension(path).ToLowerInvariant() switch
        {
            ".json" => "json",
            ".csv" => source == DeviceSource.Jamf ? "jamf-csv" : "intune-csv",
            _ => "",
        };

    private static byte[] Read(string path)
    {
        try
        {
            if (new FileInfo(path).Length > MdmInventory.MaxBytes)
            {
                throw DeviceTrustException.InvalidArgument($"{path} is larger than {MdmInventory.MaxBytes / 1024 / 1024} MiB: split the export");
            }
            return File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw DeviceTrustException.InvalidArgument($"{path} cannot be read: {e.Message}");
        }
    }

    private static MdmDevice Wire(Core.Devices.MdmDevice device)
    {
        var profile = new DeviceProfile
        {
            ModelIdentifier = device.ModelIdentifier,
            OsVersion = device.OsVersion,
            OsBuild = device.OsBuild,
            OsBuildSupplemental = device.OsBuildSupplemental,
            ExternalId = device.ExternalId,
            AssignedUser = device.AssignedUser,
        };
        profile.OsUsernames.AddRange(device.OsUsernames);
        return new MdmDevice { OsType = DeviceOutput.ParseOs(device.OsType.ToText()), SerialNumber = device.SerialNumber, Profile = profile };
    }

    private static void Count(SyncInventorySummary totals, SyncDeviceResult item)
    {
        switch (item.Outcome)
        {
            case SyncOutcome.Created:
                totals.Created++;
                break;
            case SyncOutcome.Updated:
                totals.Updated++;
                break;
            case SyncOutcome.Unchanged:
                totals.Unchanged++;
                break;
            default:
                totals.Failed++;
                break;
        }
    }

    private static string Line(SyncDeviceResult item, int line)
    {
        var device = $"{item.SerialNumber}/{DeviceOutput.Os(item.OsType)}";
        return item.Outcome switch
        {
            SyncOutcome.Created => $"created    {device}",
            SyncOutcome.Updated => $"updated    {device}: {string.Join(", ", item.Changed)}{(item.Unenrolled ? " (unenrolled: the MDM assigned it to someone else)" : "")}",
            SyncOutcome.Unchanged => $"unchanged  {device}",
            _ => $"failed     {device} (line {line}): {item.Message}",
        };
    }

    /// <summary>Shows the missing devices and asks; null when the answer is anything but the confirmation (or there is nothing to ask).</summary>
    private static SyncInventoryConfirm? Confirm(SyncInventoryMissing missing, SyncInventoryStart start)
    {
        var count = missing.Missing;
        if (count == 0)
        {
            Console.WriteLine("Missing: none (every device of this source is in the export).");
            return null;
        }
        Console.WriteLine($"Missing: {count} of the {missing.SourceDevices} devices from this source are not in the export:");
        foreach (var device in missing.Devices)
        {
            Console.WriteLine($"  {device.AssetTag}/{DeviceOutput.Os(device.OsType)}  {device.Id}  "
                              + (device.EnrollStatus == DeviceEnrollStatus.Enrolled ? $"enrolled (owner {device.Owner})" : "not enrolled"));
        }
        if (start.DryRun)
        {
            Console.WriteLine("Dry run: nothing is deleted.");
            return null;
        }
        if (count > missing.Devices.Count)
        {
            Console.WriteLine($"Only the first {missing.Devices.Count} are listed, and so many are not offered for deletion: check the export, or sync in parts.");
            return null;
        }
        Console.Error.Write($"Delete {(count == 1 ? "this device" : $"these {count} devices")} from the inventory? Type \"delete {count}\" to confirm: ");
        if (Console.In.ReadLine()?.Trim() != $"delete {count}")
        {
            Console.WriteLine("Nothing deleted.");
            return null;
        }
        var confirm = new SyncInventoryConfirm();
        confirm.DeviceIds.AddRange(missing.Devices.Select(d => d.Id));
        if (missing.ConfirmTwice)
        {
            var share = count * 100.0 / Math.Max(missing.SourceDevices, 1);
            Console.Error.Write($"That is {share.ToString("F0", CultureInfo.InvariantCulture)}% of this source's devices, more than the cluster's "
                                + $"{missing.ConfirmTwicePercent}% (a partial export looks like this). Type \"delete {count}\" again to confirm: ");
            if (Console.In.ReadLine()?.Trim() != $"delete {count}")
            {
                Console.WriteLine("Nothing deleted.");
                return null;
            }
            confirm.ConfirmedTwice = true;
        }
        return confirm;
    }
}
