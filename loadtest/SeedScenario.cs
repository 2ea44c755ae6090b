using System.CommandLine;
using System.Diagnostics;
using DeviceTrust.Client.Connection;
using DeviceTrust.Client.Profiles;
using DeviceTrust.Proto.V1;

namespace DeviceTrust.LoadTest;

/// <summary>
/// <c>seed</c>: adds N devices to the inventory (Linux, asset tags PREFIX0000000, PREFIX0000001, …) through
/// BulkCreateDevices, a batch per call, or through CreateDevice one call each (<c>--batch 1</c>), and prints the rate.
/// Users and enrolled devices are not seeded yet.
/// </summary>
public static class SeedScenario
{
    public static Command Create()
    {
        var profileDirectory = new Option<string?>("--profile") { Description = "Profile folder of a device-admin (default: DTSH_HOME or ~/.dtsh)" };
        var count = new Option<int>("--devices") { DefaultValueFactory = _ => 10_000, Description = "Devices to add" };
        var concurrency = new Option<int>("--concurrency") { DefaultValueFactory = _ => 4, Description = "Calls in flight" };
        var batch = new Option<int>("--batch") { DefaultValueFactory = _ => 1000, Description = "Devices per BulkCreateDevices call, 1 to 1000 (1: CreateDevice, one call each)" };
        var prefix = new Option<string?>("--prefix") { Description = "Asset tag prefix (default: SEED and 6 random characters)" };
        var command = new Command("seed", "Add devices to the inventory quickly, through the bulk API") { profileDirectory, count, concurrency, batch, prefix };
        command.SetAction(async (result, cancellationToken) =>
        {
            var store = result.GetValue(profileDirectory) is { } folder ? new ProfileStore(folder) : ProfileStore.Default();
            using var channel = GatewayChannel.ForProfile(CurrentProfile.Require(store));
            var added = await SeedAsync(new DeviceTrustService.DeviceTrustServiceClient(channel), result.GetValue(count), result.GetValue(batch),
                result.GetValue(concurrency), result.GetValue(prefix) ?? "SEED" + Guid.NewGuid().ToString("N")[..6].ToUpperInvariant(), cancellationToken);
            return added == result.GetValue(count) ? 0 : 1;
        });
        return command;
    }

    /// <summary>Adds <paramref name="n"/> devices and prints the calls' latencies and the rate; returns how many were added.</summary>
    public static async Task<int> SeedAsync(DeviceTrustService.DeviceTrustServiceClient devices, int n, int batch, int concurrency, string prefix,
        CancellationToken cancellationToken)
    {
        var size = Math.Clamp(batch, 1, 1000);
        var calls = (n + size - 1) / size;
        var create = new LatencyRecorder();
        var added = 0;
        var seeding = Stopwatch.StartNew();
        using (new Timer(_ => Console.Error.WriteLine($"seeding: {Volatile.Read(ref added)}/{n} devices in {seeding.Elapsed.TotalSeconds:F0} s"),
                   null, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(10)))
        {
            var seeded = await LatencyRecorder.RunAsync(calls, concurrency, create, async call =>
            {
                var first = call * size;
                var names = Enumerable.Range(first, Math.Min(size, n - first)).Select(i => $"{prefix}{i:D7}").ToList();
                if (size == 1)
                {
                    await devices.CreateDeviceAsync(new CreateDeviceRequest { OsType = OSType.Linux, AssetTag = names[0] }, cancellationToken: cancellationToken);
                    Interlocked.Increment(ref added);
                    return;
                }
                var request = new BulkCreateDevicesRequest();
                request.Devices.AddRange(names.Select(tag => new BulkDevice { OsType = OSType.Linux, AssetTag = tag }));
                var response = await devices.BulkCreateDevicesAsync(request, cancellationToken: cancellationToken);
                Interlocked.Add(ref added, response.Created);
                if (response.Failed > 0)
                {
                    var failure = response.Results.First(r => r.Code != 0);
                    throw new Grpc.Core.RpcException(new Grpc.Core.Status((Grpc.Core.StatusCode)failure.Code,
                        $"{response.Failed} of {names.Count} devices refused, e.g. {failure.AssetTag}: {failure.Message}"));
                }
            });
            if (n > 0)
            {
                Console.WriteLine(create.Summary(size == 1 ? "CreateDevice calls" : $"BulkCreateDevices calls of {size}", seeded));
                Console.WriteLine(FormattableString.Invariant($"seeding: {added} devices in {seeded.TotalSeconds:F1} s ({added / seeded.TotalSeconds:F0} devices/s)"));
            }
        }
        return added;
    }
}
