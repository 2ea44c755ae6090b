using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.Json;
using DeviceTrust.Client.Connection;
using DeviceTrust.Client.Profiles;
using DeviceTrust.Proto.V1;
using Google.Protobuf;
using Grpc.Net.Client;

namespace DeviceTrust.LoadTest;

/// <summary>
/// The storms: a fleet of key devices (each its own P-256 key and, unless <c>--shared-user</c>, its own user with
/// their own certificate and connection) against a running gateway, open loop (<c>--rate</c>) or closed loop
/// (<c>--concurrency</c>), measured by <see cref="Storm"/>, with the machine's ceilings measured in the same run so
/// every figure reads as a ratio. The admin (DTSH_HOME or --profile, a device and user admin) makes the fleet.
/// <list type="bullet">
/// <item><c>login-storm</c>: device authentications of an enrolled fleet, the ceremony each device runs after its user's login.</item>
/// <item><c>enroll-storm</c>: enrollments of a fleet of new devices, each with its own token.</item>
/// <item><c>access-flood</c>: access decisions (CheckAccess, as a proxy asks) for the fleet's device-bound certificates.</item>
/// <item><c>mixed</c>: authentications and access decisions at the same time, each measured on its own.</item>
/// </list>
/// </summary>
public static class StormScenarios
{
    private enum Kind { Login, Enroll, Access, Mixed }

    public static Command LoginStorm() => Create("login-storm",
        "Device authentications of an enrolled fleet: the ceremony each device runs after its user's login", Kind.Login);

    public static Command EnrollStorm() => Create("enroll-storm", "Enrollments of a fleet of new devices, each with its own token", Kind.Enroll);

    public static Command AccessFlood() => Create("access-flood",
        "Access decisions for the fleet's device-bound certificates (CheckAccess, as a proxy asks it, over the admin's connections)", Kind.Access);

    public static Command Mixed() => Create("mixed",
        "Device authentications (--rate/--concurrency) and access decisions (--access-rate/--access-concurrency) at once", Kind.Mixed);

    private static Command Create(string name, string description, Kind kind)
    {
        var profileDirectory = new Option<string?>("--profile") { Description = "Profile folder of a device and user admin (default: DTSH_HOME or ~/.dtsh)" };
        var devices = new Option<int>("--devices") { DefaultValueFactory = _ => 1000, Description = "Fleet size" };
        var sharedUser = new Option<bool>("--shared-user")
        {
            Description = "Every device the admin's, over --connections shared connections (quicker to set up; one user is not a fleet)",
        };
        var tpmDevices = new Option<int>("--tpm-devices")
        {
            Description = "The first N devices are TPMs: a swtpm each, manufactured, started and stopped by the simulator (apt-get install swtpm swtpm-tools tpm2-tools)",
        };
        var connections = new Option<int>("--connections")
        {
            DefaultValueFactory = _ => 4,
            Description = "The admin's HTTP/2 connections: the fleet's with --shared-user, and the ones access decisions are asked over",
        };
        var concurrency = new Option<int>("--concurrency") { DefaultValueFactory = _ => 32, Description = "Closed loop: operations in flight" };
        var rate = new Option<double?>("--rate") { Description = "Open loop: operations started per second, however the server keeps up" };
        var accessConcurrency = new Option<int>("--access-concurrency") { DefaultValueFactory = _ => 32, Description = "mixed: access decisions in flight" };
        var accessRate = new Option<double?>("--access-rate") { Description = "mixed: access decisions started per second (open loop)" };
        var app = new Option<string>("--app") { DefaultValueFactory = _ => "grafana", Description = "access-flood, mixed: the app whose access is asked" };
        var duration = new Option<double>("--duration") { DefaultValueFactory = _ => 30, Description = "Seconds of storm" };
        var rounds = new Option<int>("--rounds") { Description = "Stop after this many operations per device, even before --duration is up (0: no limit)" };
        var json = new Option<string?>("--json") { Description = "Write the result (figures, timeline, baseline, machine) to this JSON file" };
        var chart = new Option<string?>("--chart") { Description = "Write the timeline as a PNG chart to this file (mixed: one per storm, named after it)" };
        var expect = new Option<long>("--expect-min") { DefaultValueFactory = _ => 1, Description = "Exit 2 if fewer operations than this succeed (in each storm)" };
        var warmup = new Option<double>("--warmup")
        {
            DefaultValueFactory = _ => kind == Kind.Enroll ? 0 : 10,
            Description = "Seconds of the same storm first, not counted: both processes compile their hot code to its final tier in the first seconds",
        };
        var baselineSeconds = new Option<double>("--baseline-seconds") { DefaultValueFactory = _ => 2, Description = "Seconds for each of the machine's ceilings" };
        var command = new Command(name, description)
        {
            profileDirectory, devices, sharedUser, tpmDevices, connections, concurrency, rate, duration, json, chart, expect, warmup, baselineSeconds,
        };
        if (kind != Kind.Enroll)
        {
            command.Options.Add(rounds);
        }
        if (kind is Kind.Access or Kind.Mixed)
        {
            command.Options.Add(app);
        }
        if (kind == Kind.Mixed)
        {
            command.Options.Add(accessConcurrency);
            command.Options.Add(accessRate);
        }
        command.SetAction(async (result, cancellationToken) =>
        {
            var store = result.GetValue(profileDirectory) is { } folder ? new ProfileStore(folder) : ProfileStore.Default();
            var admin = CurrentProfile.Require(store);
            var channels = Enumerable.Range(0, Math.Max(1, result.GetValue(connections))).Select(_ => GatewayChannel.ForProfile(admin)).ToArray();
            try
            {
                var fleetSize = result.GetValue(devices);
                // First, while the gateway is idle: after a storm it keeps compiling and collecting for a while.
                var baseline = await Baseline.MeasureCryptoAsync(TimeSpan.FromSeconds(result.GetValue(baselineSeconds)), cancellationToken);
                await using var fleet = await StormFleet.CreateAsync(admin, channels, fleetSize, !result.GetValue(sharedUser), result.GetValue(tpmDevices),
                    cancellationToken);
                var plan = new StormPlan(result.GetValue(rate), result.GetValue(concurrency), TimeSpan.FromSeconds(result.GetValue(duration)),
                    kind == Kind.Enroll ? fleetSize : result.GetValue(rounds) is > 0 and var perDevice ? (long)perDevice * fleetSize : long.MaxValue);
                var storms = new List<(string Name, StormPlan Plan, Func<long, CancellationToken, Task> Operation)>();
                var decisions = new Decisions(fleet, result.GetValue(app)!);
                switch (kind)
                {
                    case Kind.Enroll:
                        storms.Add((name, plan, (i, token) => fleet.EnrollAsync((int)i, token)));
                        break;
                    case Kind.Login:
                        storms.Add((name, plan, (i, token) => fleet.AuthenticateAsync((int)(i % fleetSize), token)));
                        break;
                    case Kind.Access:
                        storms.Add((name, plan, decisions.AskAsync));
                        break;
                    case Kind.Mixed:
                        storms.Add(("mixed: authentications", plan, (i, token) => fleet.AuthenticateAsync((int)(i % fleetSize), token)));
                        storms.Add(("mixed: access decisions", plan with { Rate = result.GetValue(accessRate), Concurrency = result.GetValue(accessConcurrency) },
                            decisions.AskAsync));
                        break;
                }
                if (kind != Kind.Enroll && !await SetUpAsync(fleet, kind, cancellationToken))
                {
                    return 1;
                }
                if (kind != Kind.Enroll && result.GetValue(warmup) is > 0 and var seconds)
                {
                    var warm = await RunAllAsync(storms.Select(s => (s.Name + " warm-up", s.Plan with { Duration = TimeSpan.FromSeconds(seconds) }, s.Operation)),
                        cancellationToken);
                    warm.ForEach(w => Console.WriteLine(w.Summary() + " (not counted)"));
                    decisions.Reset();
                }
                baseline = await baseline.WithEchoAsync(TimeSpan.FromSeconds(result.GetValue(baselineSeconds)), i => channels[i % channels.Length],
                    result.GetValue(concurrency), cancellationToken);
                Console.Error.WriteLine($"{name}: {plan.Mode}, {fleetSize} devices ({Math.Min(fleetSize, result.GetValue(tpmDevices))} of them TPMs), " +
                    (fleet.OwnUsers ? "each its own user and connection" : $"one user over {channels.Length} connections") + $", {plan.Duration.TotalSeconds:0} s");
                var cpu = StormCpu.Start(fleet.Helpers);
                var results = await RunAllAsync(storms, cancellationToken);
                var shares = cpu.Stop(results.Sum(r => r.Ok));
                results.ForEach(r => Console.WriteLine(r.Summary()));
                Console.WriteLine(StormCpu.Describe(shares));
                if (kind is Kind.Access or Kind.Mixed)
                {
                    Console.WriteLine(decisions.Describe());
                }
                Console.WriteLine(baseline.Describe(results[0].PerSecond));
                if (result.GetValue(json) is { } path)
                {
                    await File.WriteAllTextAsync(path, JsonSerializer.Serialize(new
                    {
                        Result = results[0],
                        Results = results,
                        Baseline = baseline,
                        RatioToP256SignVerify = results[0].PerSecond / baseline.SignVerifyPairsPerSecond,
                        Decisions = kind is Kind.Access or Kind.Mixed ? decisions.Counts() : null,
                        Cpu = shares,
                        TpmDevices = result.GetValue(tpmDevices),
                        Machine = Machine.Describe(),
                        Connections = channels.Length,
                        OwnUsers = fleet.OwnUsers,
                        Devices = fleetSize,
                        Command = Environment.GetCommandLineArgs().Skip(1),
                        Time = DateTimeOffset.UtcNow,
                    }, Storm.Json), cancellationToken);
                }
                if (result.GetValue(chart) is { } png)
                {
                    for (var i = 0; i < results.Count; i++)
                    {
                        StormChart.Save(results[i], i == 0 ? png : Path.ChangeExtension(png, null) + "-" + (i + 1) + Path.GetExtension(png));
                    }
                }
                return results.Any(r => r.Errors > 0) ? 1 : results.Any(r => r.Ok < result.GetValue(expect)) ? 2 : 0;
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

    /// <summary>Enrolls the fleet; for access decisions, authenticates every device once so each has a device-bound certificate to ask about.</summary>
    private static async Task<bool> SetUpAsync(StormFleet fleet, Kind kind, CancellationToken cancellationToken)
    {
        Console.Error.WriteLine($"enrolling {fleet.Size} devices …");
        var enrolled = await Storm.RunAsync("enroll (setup)", new StormPlan(null, 16, TimeSpan.FromHours(1), fleet.Size),
            (i, token) => fleet.EnrollAsync((int)i, token), cancellationToken);
        Console.WriteLine(enrolled.Summary());
        if (enrolled.Errors > 0 || kind == Kind.Login)
        {
            return enrolled.Errors == 0;
        }
        var authenticated = await Storm.RunAsync("authenticate once (setup)", new StormPlan(null, 16, TimeSpan.FromHours(1), fleet.Size),
            (i, token) => fleet.AuthenticateAsync((int)i, token), cancellationToken);
        Console.WriteLine(authenticated.Summary());
        return authenticated.Errors == 0;
    }

    private static async Task<List<StormResult>> RunAllAsync(IEnumerable<(string Name, StormPlan Plan, Func<long, CancellationToken, Task> Operation)> storms,
        CancellationToken cancellationToken) =>
        [.. await Task.WhenAll(storms.Select(s => Storm.RunAsync(s.Name, s.Plan, s.Operation, cancellationToken)))];

    /// <summary>
    /// Access decisions as a proxy asks them: CheckAccess with a user's device-bound certificate (DER) for an app,
    /// over the admin's connections; an answer, allowed or not, is a decision. Counts both.
    /// </summary>
    private sealed class Decisions(StormFleet fleet, string app)
    {
        private readonly ByteString?[] _certificates = new ByteString?[fleet.Size];
        private long _allowed;
        private long _denied;

        public async Task AskAsync(long i, CancellationToken cancellationToken)
        {
            var device = (int)(i % fleet.Size);
            var certificate = _certificates[device] ??= ByteString.CopyFrom(fleet.CertificateOf(device)
                ?? throw new InvalidOperationException($"device {device} has not authenticated: it has no certificate to ask about"));
            var decision = await new AccessService.AccessServiceClient(fleet.SharedChannel(i)).CheckAccessAsync(new CheckAccessRequest
            {
                X509Der = certificate,
                Resource = new AccessResource { Kind = "app", Name = app },
            }, cancellationToken: cancellationToken);
            Interlocked.Increment(ref decision.Allowed ? ref _allowed : ref _denied);
        }

        public void Reset()
        {
            Interlocked.Exchange(ref _allowed, 0);
            Interlocked.Exchange(ref _denied, 0);
        }

        public object Counts() => new { Allowed = Interlocked.Read(ref _allowed), Denied = Interlocked.Read(ref _denied) };

        public string Describe() => $"access decisions: {Interlocked.Read(ref _allowed)} allowed, {Interlocked.Read(ref _denied)} denied (app \"{app}\")";
    }

    /// <summary>
    /// The machine's ceilings for the same work, measured in the same run: P-256 sign and verify and RSA-2048 verify in
    /// this process on every core; the same by <c>openssl speed</c> (one process per core), when openssl is on the PATH;
    /// and a gRPC echo through the gateway (GetClusterInfo, which touches no grain, over the admin's connections, as
    /// many in flight as the storm's closed loop): TLS, HTTP/2, Kestrel and the gateway's interceptor with no work.
    /// </summary>
    public sealed record Baseline(
        double SignsPerSecond, double VerifiesPerSecond, double SignVerifyPairsPerSecond, double RsaVerifiesPerSecond, int Cores,
        double? OpensslSignsPerSecond, double? OpensslVerifiesPerSecond, double? OpensslRsaVerifiesPerSecond, double GrpcEchoPerSecond, double GrpcEchoP99Ms)
    {
        /// <summary>The crypto ceilings: best measured while nothing else runs, so before the fleet is made.</summary>
        public static async Task<Baseline> MeasureCryptoAsync(TimeSpan time, CancellationToken cancellationToken)
        {
            var cores = Environment.ProcessorCount;
            static ECDsa P256() => ECDsa.Create(ECCurve.NamedCurves.nistP256);
            static byte[] SignP256(ECDsa key, byte[] data) => key.SignData(data, HashAlgorithmName.SHA256);
            var signs = Rate(cores, time, P256, SignP256, (key, data, _) => SignP256(key, data).Length > 0);
            var verifies = Rate(cores, time, P256, SignP256, (key, data, signature) => key.VerifyData(data, signature, HashAlgorithmName.SHA256));
            var rsa = Rate(cores, time, () => RSA.Create(2048), (key, data) => key.SignData(data, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1),
                (key, data, signature) => key.VerifyData(data, signature, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1));
            var openssl = await OpensslSpeedAsync(cores, time, cancellationToken);
            return new Baseline(signs, verifies, 1 / (1 / signs + 1 / verifies), rsa, cores, openssl.Signs, openssl.Verifies, openssl.RsaVerifies, 0, 0);
        }

        /// <summary>
        /// The gRPC echo: measured on a warm gateway (after the storm's warm-up), since a fresh one runs its first
        /// seconds of any call unoptimized; with a warm-up of its own for its code path.
        /// </summary>
        public async Task<Baseline> WithEchoAsync(TimeSpan time, Func<long, GrpcChannel> channels, int concurrency, CancellationToken cancellationToken)
        {
            async Task Echo(long i, CancellationToken token) =>
                await new AuthService.AuthServiceClient(channels(i)).GetClusterInfoAsync(new GetClusterInfoRequest(), cancellationToken: token);
            await Storm.RunAsync("baseline: gRPC echo warm-up", new StormPlan(null, concurrency, TimeSpan.FromSeconds(Math.Max(3, time.TotalSeconds)), long.MaxValue),
                Echo, cancellationToken);
            var echo = await Storm.RunAsync("baseline: gRPC echo (GetClusterInfo)", new StormPlan(null, concurrency, time, long.MaxValue), Echo, cancellationToken);
            return this with { GrpcEchoPerSecond = echo.PerSecond, GrpcEchoP99Ms = echo.P99Ms };
        }

        /// <summary>Operations a second on every core, each core with its own key and one signature made with it first.</summary>
        private static double Rate<TKey>(int cores, TimeSpan time, Func<TKey> create, Func<TKey, byte[], byte[]> sign, Func<TKey, byte[], byte[], bool> work)
            where TKey : IDisposable
        {
            var counts = new long[cores];
            Parallel.For(0, cores, new ParallelOptions { MaxDegreeOfParallelism = cores }, core =>
            {
                using var key = create();
                var data = RandomNumberGenerator.GetBytes(32);
                var signature = sign(key, data);
                var clock = Stopwatch.StartNew();
                while (clock.Elapsed < time)
                {
                    counts[core] += work(key, data, signature) ? 1 : 0;
                }
            });
            return counts.Sum() / time.TotalSeconds;
        }

        /// <summary><c>openssl speed -multi CORES ecdsap256 rsa2048</c>; nulls when openssl is not there or prints something else.</summary>
        private static async Task<(double? Signs, double? Verifies, double? RsaVerifies)> OpensslSpeedAsync(int cores, TimeSpan time,
            CancellationToken cancellationToken)
        {
            try
            {
                var start = new ProcessStartInfo("openssl")
                {
                    ArgumentList = { "speed", "-seconds", Math.Max(1, (int)Math.Round(time.TotalSeconds)).ToString(CultureInfo.InvariantCulture),
                        "-multi", cores.ToString(CultureInfo.InvariantCulture), "ecdsap256", "rsa2048" },
                    RedirectStandardOutput = true,
                    RedirectStandardError = true,
                };
                using var openssl = Process.Start(start)!;
                var stderr = openssl.StandardError.ReadToEndAsync(cancellationToken);
                var output = await openssl.StandardOutput.ReadToEndAsync(cancellationToken);
                await openssl.WaitForExitAsync(cancellationToken);
                await stderr;
                var ecdsa = System.Text.RegularExpressions.Regex.Match(output, @"ecdsa \(nistp256\)\s+\S+\s+\S+\s+([0-9.]+)\s+([0-9.]+)");
                var rsa = System.Text.RegularExpressions.Regex.Match(output, @"rsa 2048 bits\s+\S+\s+\S+\s+([0-9.]+)\s+([0-9.]+)");
                double? Number(System.Text.RegularExpressions.Match m, int group) =>
                    m.Success ? double.Parse(m.Groups[group].Value, CultureInfo.InvariantCulture) : null;
                return (Number(ecdsa, 1), Number(ecdsa, 2), Number(rsa, 2));
            }
            catch (System.ComponentModel.Win32Exception)
            {
                return (null, null, null);
            }
        }

        public string Describe(double? perSecond)
        {
            static string Figure(double? value) => value?.ToString("F0", CultureInfo.InvariantCulture) ?? "?";
            var text = FormattableString.Invariant(
                $"""
                 baseline on {Cores} cores, in this process: P-256 {SignsPerSecond:F0} signs/s, {VerifiesPerSecond:F0} verifies/s ({SignVerifyPairsPerSecond:F0} sign+verify pairs/s), RSA-2048 {RsaVerifiesPerSecond:F0} verifies/s
                 baseline, openssl speed: P-256 {Figure(OpensslSignsPerSecond)} signs/s, {Figure(OpensslVerifiesPerSecond)} verifies/s, RSA-2048 {Figure(OpensslRsaVerifiesPerSecond)} verifies/s
                 baseline, gRPC echo through the gateway: {GrpcEchoPerSecond:F0}/s, p99 {GrpcEchoP99Ms:F2} ms
                 """);
            return perSecond is { } rate
                ? text + FormattableString.Invariant(
                    $"\nthe storm ran at {100 * rate / SignVerifyPairsPerSecond:F1} % of the P-256 sign+verify ceiling and {100 * rate / GrpcEchoPerSecond:F1} % of the gRPC echo's rate")
                : text;
        }
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
