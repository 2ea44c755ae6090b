using System.CommandLine;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.Json;
using DeviceTrust.Client.Connection;
using DeviceTrust.Client.Devices;
using DeviceTrust.Client.Profiles;
using DeviceTrust.Proto.V1;
using Google.Protobuf.WellKnownTypes;
using Grpc.Net.Client;

namespace DeviceTrust.LoadTest;

/// <summary>
/// <c>login-storm</c> and <c>enroll-storm</c>: a fleet of key devices (each its own P-256 key) against a running
/// gateway, over several connections, open loop (<c>--rate</c>) or closed loop (<c>--concurrency</c>), measured by
/// <see cref="Storm"/>, with the machine's P-256 ceiling measured in the same run so every figure reads as a ratio.
/// The fleet is made and enrolled by the profile's user (a device admin, DTSH_HOME or --profile), and every device
/// is registered to that user: one user for the whole fleet, which a fleet of distinct users does not exercise.
/// </summary>
public static class StormScenarios
{
    public static Command LoginStorm() => Create("login-storm",
        "Device authentications of an enrolled fleet: the ceremony each device runs after its user's login", enrollmentIsTheStorm: false);

    public static Command EnrollStorm() => Create("enroll-storm", "Enrollments of a fleet of new devices, each with its own token", enrollmentIsTheStorm: true);

    private static Command Create(string name, string description, bool enrollmentIsTheStorm)
    {
        var profileDirectory = new Option<string?>("--profile") { Description = "Profile folder of a device admin (default: DTSH_HOME or ~/.dtsh)" };
        var devices = new Option<int>("--devices") { DefaultValueFactory = _ => 1000, Description = "Fleet size" };
        var connections = new Option<int>("--connections") { DefaultValueFactory = _ => 4, Description = "HTTP/2 connections the fleet shares" };
        var concurrency = new Option<int>("--concurrency") { DefaultValueFactory = _ => 32, Description = "Closed loop: operations in flight" };
        var rate = new Option<double?>("--rate") { Description = "Open loop: operations started per second, however the server keeps up" };
        var duration = new Option<double>("--duration") { DefaultValueFactory = _ => 30, Description = "Seconds of storm" };
        var json = new Option<string?>("--json") { Description = "Write the result (figures, timeline, baseline, machine) to this JSON file" };
        var chart = new Option<string?>("--chart") { Description = "Write the timeline as a PNG chart to this file" };
        var expect = new Option<long>("--expect-min") { DefaultValueFactory = _ => 1, Description = "Exit 2 if fewer operations than this succeed" };
        var warmup = new Option<double>("--warmup")
        {
            DefaultValueFactory = _ => enrollmentIsTheStorm ? 0 : 10,
            Description = "Seconds of the same storm first, not counted: both processes compile their hot code to its final tier in the first seconds",
        };
        var baselineSeconds = new Option<double>("--baseline-seconds") { DefaultValueFactory = _ => 2, Description = "Seconds each for the P-256 sign and verify ceilings" };
        var command = new Command(name, description) { profileDirectory, devices, connections, concurrency, rate, duration, json, chart, expect, warmup, baselineSeconds };
        command.SetAction(async (result, cancellationToken) =>
        {
            var store = result.GetValue(profileDirectory) is { } folder ? new ProfileStore(folder) : ProfileStore.Default();
            var profile = CurrentProfile.Require(store);
            var channels = Enumerable.Range(0, Math.Max(1, result.GetValue(connections))).Select(_ => GatewayChannel.ForProfile(profile)).ToArray();
            try
            {
                var fleetSize = result.GetValue(devices);
                using var fleet = await Fleet.CreateAsync(channels, fleetSize, cancellationToken);
                var plan = new StormPlan(result.GetValue(rate), result.GetValue(concurrency), TimeSpan.FromSeconds(result.GetValue(duration)),
                    enrollmentIsTheStorm ? fleetSize : long.MaxValue);
                if (!enrollmentIsTheStorm)
                {
                    Console.Error.WriteLine($"enrolling {fleetSize} devices …");
                    var enrolled = await Storm.RunAsync("enroll (setup)", new StormPlan(null, 16, TimeSpan.FromHours(1), fleetSize),
                        (i, token) => fleet.EnrollAsync(channels[i % channels.Length], (int)i, token), cancellationToken);
                    Console.WriteLine(enrolled.Summary());
                    if (enrolled.Errors > 0)
                    {
                        return 1;
                    }
                }
                if (!enrollmentIsTheStorm && result.GetValue(warmup) is > 0 and var seconds)
                {
                    var warm = await Storm.RunAsync($"{name} warm-up", plan with { Duration = TimeSpan.FromSeconds(seconds) },
                        (i, token) => fleet.AuthenticateAsync(channels[i % channels.Length], (int)(i % fleetSize), token), cancellationToken);
                    Console.WriteLine(warm.Summary() + " (not counted)");
                }
                var baseline = Baseline.MeasureP256(TimeSpan.FromSeconds(result.GetValue(baselineSeconds)));
                Console.Error.WriteLine($"{name}: {plan.Mode}, {channels.Length} connections, {fleetSize} devices, {plan.Duration.TotalSeconds:0} s");
                var storm = await Storm.RunAsync(name, plan, enrollmentIsTheStorm
                    ? (i, token) => fleet.EnrollAsync(channels[i % channels.Length], (int)i, token)
                    : (i, token) => fleet.AuthenticateAsync(channels[i % channels.Length], (int)(i % fleetSize), token), cancellationToken);
                Console.WriteLine(storm.Summary());
                Console.WriteLine(baseline.Describe(storm.PerSecond));
                if (result.GetValue(json) is { } path)
                {
                    await File.WriteAllTextAsync(path, JsonSerializer.Serialize(new
                    {
                        Result = storm,
                        Baseline = baseline,
                        RatioToP256SignVerify = storm.PerSecond / baseline.SignVerifyPairsPerSecond,
                        Machine = Machine.Describe(),
                        Connections = channels.Length,
                        Devices = fleetSize,
                        Command = Environment.GetCommandLineArgs().Skip(1),
                        Time = DateTimeOffset.UtcNow,
                    }, Storm.Json), cancellationToken);
                }
                if (result.GetValue(chart) is { } png)
                {
                    StormChart.Save(storm, png);
                }
                return storm.Errors > 0 ? 1 : storm.Ok < result.GetValue(expect) ? 2 : 0;
            }
            finally
            {
                foreach (var channel in channels)
                {
                    channel.Dispose();
                }
            }
        });
        return command;
    }

    /// <summary>The simulated devices: each an asset tag, an enrollment token, its own key and, once enrolled, its id.</summary>
    private sealed class Fleet : IDisposable
    {
        private readonly string[] _tags;
        private readonly string[] _tokens;
        private readonly string[] _ids;
        private readonly ECDsa[] _keys;

        private Fleet(int size)
        {
            _tags = new string[size];
            _tokens = new string[size];
            _ids = new string[size];
            _keys = new ECDsa[size];
        }

        public static async Task<Fleet> CreateAsync(GrpcChannel[] channels, int size, CancellationToken cancellationToken)
        {
            var fleet = new Fleet(size);
            var run = Guid.NewGuid().ToString("N")[..6].ToUpperInvariant();
            Console.Error.WriteLine($"adding {size} devices with enrollment tokens …");
            var created = await Storm.RunAsync("create device + token (setup)", new StormPlan(null, 16, TimeSpan.FromHours(1), size), async (i, token) =>
            {
                var client = new DeviceTrustService.DeviceTrustServiceClient(channels[i % channels.Length]);
                var device = await client.CreateDeviceAsync(new CreateDeviceRequest
                {
                    OsType = OSType.Linux,
                    AssetTag = $"ST{run}{i:D7}",
                    CreateEnrollToken = true,
                }, cancellationToken: token);
                fleet._tags[i] = device.AssetTag;
                fleet._tokens[i] = device.EnrollToken.Token;
                fleet._ids[i] = device.Id;
                fleet._keys[i] = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            }, cancellationToken);
            Console.WriteLine(created.Summary());
            if (created.Errors > 0)
            {
                throw new InvalidOperationException("the fleet could not be created: see the errors above");
            }
            return fleet;
        }

        public Task<Device> EnrollAsync(GrpcChannel channel, int i, CancellationToken cancellationToken) =>
            DeviceCeremonies.EnrollAsync(channel, _tokens[i], $"cred-{i}", _keys[i], CeremonyScenario.Data(_tags[i]), cancellationToken);

        public Task<UserCertificates> AuthenticateAsync(GrpcChannel channel, int i, CancellationToken cancellationToken) =>
            DeviceCeremonies.AuthenticateAsync(channel, _ids[i], $"cred-{i}", _keys[i], CeremonyScenario.Data(_tags[i]), cancellationToken);

        public void Dispose()
        {
            foreach (var key in _keys)
            {
                key?.Dispose();
            }
        }
    }

    /// <summary>The machine's ceiling for the crypto of one authentication, measured in this process on every core.</summary>
    public sealed record Baseline(double SignsPerSecond, double VerifiesPerSecond, double SignVerifyPairsPerSecond, int Cores)
    {
        public static Baseline MeasureP256(TimeSpan time)
        {
            var cores = Environment.ProcessorCount;
            double Rate(Func<ECDsa, byte[], byte[], int> work)
            {
                var counts = new long[cores];
                Parallel.For(0, cores, new ParallelOptions { MaxDegreeOfParallelism = cores }, core =>
                {
                    using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
                    var data = RandomNumberGenerator.GetBytes(32);
                    var signature = key.SignData(data, HashAlgorithmName.SHA256);
                    var clock = Stopwatch.StartNew();
                    while (clock.Elapsed < time)
                    {
                        counts[core] += work(key, data, signature);
                    }
                });
                return counts.Sum() / time.TotalSeconds;
            }
            var signs = Rate((key, data, _) => key.SignData(data, HashAlgorithmName.SHA256).Length > 0 ? 1 : 0);
            var verifies = Rate((key, data, signature) => key.VerifyData(data, signature, HashAlgorithmName.SHA256) ? 1 : 0);
            return new Baseline(signs, verifies, 1 / (1 / signs + 1 / verifies), cores);
        }

        public string Describe(double perSecond) => System.FormattableString.Invariant(
            $"baseline, P-256 on {Cores} cores in this process: {SignsPerSecond:F0} signs/s, {VerifiesPerSecond:F0} verifies/s, {SignVerifyPairsPerSecond:F0} sign+verify pairs/s; the storm ran at {100 * perSecond / SignVerifyPairsPerSecond:F1} % of that");
    }

    private static class Machine
    {
        public static object Describe() => new
        {
            Cores = Environment.ProcessorCount,
            Cpu = File.Exists("/proc/cpuinfo")
                ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim()
                : null,
            MemoryGiB = Math.Round(GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / (1024.0 * 1024 * 1024), 1),
            Os = RuntimeInformation.OSDescription,
            Runtime = RuntimeInformation.FrameworkDescription,
        };
    }
}
