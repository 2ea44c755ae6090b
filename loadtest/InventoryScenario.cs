using System.CommandLine;
using System.Diagnostics;
using DeviceTrust.Client.Connection;
using DeviceTrust.Client.Profiles;
using DeviceTrust.Proto.V1;

namespace DeviceTrust.LoadTest;

/// <summary>
/// <c>inventory</c>: adds N devices — through BulkCreateDevices, a batch per call (the default), or through
/// CreateDevice one call each (<c>--batch 1</c>, as a script without the bulk API would) — then walks the whole
/// inventory with ListDevices pages of 200 by cursor and looks devices up by asset tag with FindDevices, printing the
/// rates and latency percentiles (the first, middle and last pages separately).
/// </summary>
public static class InventoryScenario
{
    public static Command Create()
    {
        var profileDirectory = new Option<string?>("--profile") { Description = "Profile folder of a device-admin (default: DTSH_HOME or ~/.dtsh)" };
        var count = new Option<int>("--devices") { DefaultValueFactory = _ => 10_000, Description = "Devices to add first (0: measure what is there)" };
        var concurrency = new Option<int>("--concurrency") { DefaultValueFactory = _ => 4, Description = "Seeding calls in flight" };
        var batch = new Option<int>("--batch") { DefaultValueFactory = _ => 1000, Description = "Devices per BulkCreateDevices call (1: CreateDevice, one call each)" };
        var lookups = new Option<int>("--lookups") { DefaultValueFactory = _ => 2000, Description = "FindDevices calls by asset tag" };
        var command = new Command("inventory", "Seed devices, then measure ListDevices paging and FindDevices at that size") { profileDirectory, count, concurrency, batch, lookups };
        command.SetAction(async (result, cancellationToken) =>
        {
            var store = result.GetValue(profileDirectory) is { } folder ? new ProfileStore(folder) : ProfileStore.Default();
            using var channel = GatewayChannel.ForProfile(CurrentProfile.Require(store));
            var devices = new DeviceTrustService.DeviceTrustServiceClient(channel);
            var n = result.GetValue(count);
            var run = Guid.NewGuid().ToString("N")[..6].ToUpperInvariant();

            await SeedScenario.SeedAsync(devices, n, result.GetValue(batch), result.GetValue(concurrency), $"INV{run}", cancellationToken);

            // Every page in order, by cursor: the latencies of the first, middle and last tenth, and of all.
            var pages = new List<(TimeSpan Elapsed, int Devices)>();
            var tags = new List<string>();
            var token = "";
            var walk = Stopwatch.StartNew();
            do
            {
                var timer = Stopwatch.StartNew();
                var page = await devices.ListDevicesAsync(new ListDevicesRequest { PageSize = 200, PageToken = token }, cancellationToken: cancellationToken);
                pages.Add((timer.Elapsed, page.Devices.Count));
                if (pages.Count % 50 == 1 && page.Devices.Count > 0)
                {
                    tags.Add(page.Devices[^1].AssetTag);
                }
                token = page.NextPageToken;
            }
            while (token.Length > 0);
            var total = pages.Sum(p => p.Devices);
            Console.WriteLine($"inventory: {total} devices in {pages.Count} pages of 200, walked in {walk.Elapsed.TotalSeconds:F1} s");
            var tenth = Math.Max(1, pages.Count / 10);
            foreach (var (name, slice) in new[]
                     {
                         ("first", pages.Take(tenth)), ("middle", pages.Skip(pages.Count / 2 - tenth / 2).Take(tenth)),
                         ("last", pages.TakeLast(tenth)), ("all", pages),
                     })
            {
                var recorder = new LatencyRecorder();
                foreach (var (elapsed, _) in slice)
                {
                    recorder.Record(elapsed);
                }
                Console.WriteLine(recorder.Summary($"ListDevices {name} pages", walk.Elapsed));
            }

            var find = new LatencyRecorder();
            var sample = tags.Count == 0 ? ["none"] : tags;
            var wall = await LatencyRecorder.RunAsync(result.GetValue(lookups), 4, find, async i =>
            {
                var found = await devices.FindDevicesAsync(new FindDevicesRequest { IdOrTag = sample[i % sample.Count] }, cancellationToken: cancellationToken);
                if (tags.Count > 0 && found.Devices.Count != 1)
                {
                    throw new InvalidOperationException($"{sample[i % sample.Count]}: {found.Devices.Count} devices found");
                }
            });
            Console.WriteLine(find.Summary("FindDevices by asset tag (concurrency 4)", wall));
            return 0;
        });
        return command;
    }
}
