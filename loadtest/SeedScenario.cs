using System.Collections.Concurrent;
using System.CommandLine;
using System.Diagnostics;
using System.Security.Cryptography;
using DeviceTrust.Client.Connection;
using DeviceTrust.Client.Devices;
using DeviceTrust.Client.Profiles;
using DeviceTrust.Proto.V1;

namespace DeviceTrust.LoadTest;

/// <summary>
/// <c>seed</c>: adds N devices to the inventory (Linux, asset tags PREFIX0000000, PREFIX0000001, …) through
/// BulkCreateDevices, a batch per call, or through CreateDevice one call each (<c>--batch 1</c>), and prints the rate;
/// with <c>--enroll</c>, enrolls each with a key of its own (an enrollment token each, then the ceremony: enrollment
/// proves possession of the key, so there is no bulk form of it; the keys are not kept, the devices are the admin's);
/// with <c>--users N</c>, adds N users with the preset role <c>access</c> (their invitations are not kept: they are
/// secrets, and a user who is to log in needs one handed over).
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
        var enroll = new Option<bool>("--enroll") { Description = "Enroll every seeded device, each with a key of its own" };
        var users = new Option<int>("--users") { Description = "Also add this many users (preset role access)" };
        var command = new Command("seed", "Add devices (enrolled or not) and users quickly: devices through the bulk API")
        {
            profileDirectory, count, concurrency, batch, prefix, enroll, users,
        };
        command.SetAction(async (result, cancellationToken) =>
        {
            var store = result.GetValue(profileDirectory) is { } folder ? new ProfileStore(folder) : ProfileStore.Default();
            using var channel = GatewayChannel.ForProfile(CurrentProfile.Require(store));
            var devices = new DeviceTrustService.DeviceTrustServiceClient(channel);
            var name = result.GetValue(prefix) ?? "SEED" + Guid.NewGuid().ToString("N")[..6].ToUpperInvariant();
            var created = new ConcurrentQueue<(string Id, string Tag)>();
            var added = await SeedAsync(devices, result.GetValue(count), result.GetValue(batch), result.GetValue(concurrency), name, cancellationToken, created);
            var ok = added == result.GetValue(count);
            if (result.GetValue(enroll) && !created.IsEmpty)
            {
                var fleet = created.ToArray();
                var enrolled = await Storm.RunAsync("seed: enroll", new StormPlan(null, 16, TimeSpan.FromHours(24), fleet.Length), async (i, token) =>
                {
                    var (id, tag) = fleet[i];
                    var enrollToken = await devices.CreateDeviceEnrollTokenAsync(new CreateDeviceEnrollTokenRequest { DeviceId = id }, cancellationToken: token);
                    using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
                    await DeviceCeremonies.EnrollAsync(channel, enrollToken.Token, $"seed-{i}", key, CeremonyScenario.Data(tag), token);
                }, cancellationToken);
                Console.WriteLine(enrolled.Summary());
                ok &= enrolled.Errors == 0;
            }
            if (result.GetValue(users) is > 0 and var userCount)
            {
                var people = new UserService.UserServiceClient(channel);
                var made = await Storm.RunAsync("seed: create user", new StormPlan(null, 16, TimeSpan.FromHours(24), userCount), async (i, token) =>
                    await people.CreateUserAsync(new CreateUserRequest { Name = $"{name.ToLowerInvariant()}-{i}", Kind = UserKind.Human, Roles = { "access" } },
                        cancellationToken: token), cancellationToken);
                Console.WriteLine(made.Summary());
                ok &= made.Errors == 0;
            }
            return ok ? 0 : 1;
        });
        return command;
    }

    /// <summary>Adds <paramref name="n"/> devices and prints the calls' latencies and the rate; returns how many were added.</summary>
    public static async Task<int> SeedAsync(DeviceTrustService.DeviceTrustServiceClient devices, int n, int batch, int concurrency, string prefix,
        CancellationToken cancellationToken, ConcurrentQueue<(string Id, string Tag)>? created = null)
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
                    var device = await devices.CreateDeviceAsync(new CreateDeviceRequest { OsType = OSType.Linux, AssetTag = names[0] },
                        cancellationToken: cancellationToken);
                    created?.Enqueue((device.Id, device.AssetTag));
                    Interlocked.Increment(ref added);
                    return;
                }
                var request = new BulkCreateDevicesRequest();
                request.Devices.AddRange(names.Select(tag => new BulkDevice { OsType = OSType.Linux, AssetTag = tag }));
                var response = await devices.BulkCreateDevicesAsync(request, cancellationToken: cancellationToken);
                Interlocked.Add(ref added, response.Created);
                foreach (var (result, tag) in response.Results.Zip(names).Where(r => r.First.Code == 0))
                {
                    created?.Enqueue((result.DeviceId, tag));
                }
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
