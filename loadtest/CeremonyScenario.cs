using System.CommandLine;
using System.Security.Cryptography;
using DeviceTrust.Client.Connection;
using DeviceTrust.Client.Devices;
using DeviceTrust.Client.Profiles;
using DeviceTrust.Proto.V1;
using Google.Protobuf.WellKnownTypes;

namespace DeviceTrust.LoadTest;

/// <summary>
/// <c>ceremonies</c>: a fleet of simulated key devices. Adds N devices with tokens, enrolls each (init → challenge →
/// signature) and then authenticates each, over real gRPC streams, with the mTLS profile of a user allowed to manage
/// devices (DTSH_HOME or --profile). Prints latency percentiles per phase.
/// </summary>
public static class CeremonyScenario
{
    public static Command Create()
    {
        var profileDirectory = new Option<string?>("--profile") { Description = "Profile folder of a device-admin (default: DTSH_HOME or ~/.dtsh)" };
        var count = new Option<int>("--devices") { DefaultValueFactory = _ => 1000 };
        var concurrency = new Option<int>("--concurrency") { DefaultValueFactory = _ => 8 };
        var rounds = new Option<int>("--auth-rounds") { DefaultValueFactory = _ => 1, Description = "Authentications per device" };
        var tpmSpec = new Option<string?>("--tpm")
        {
            Description = "Enroll and authenticate with this TPM (e.g. swtpm:host=127.0.0.1,port=2321) instead of software keys; one TPM serves one command at a time",
        };
        var command = new Command("ceremonies", "Measure device enrollment and authentication latency") { profileDirectory, count, concurrency, rounds, tpmSpec };
        command.SetAction(async (result, cancellationToken) =>
        {
            var store = result.GetValue(profileDirectory) is { } folder ? new ProfileStore(folder) : ProfileStore.Default();
            var profile = CurrentProfile.Require(store);
            using var channel = GatewayChannel.ForProfile(profile);
            var devices = new DeviceTrustService.DeviceTrustServiceClient(channel);
            var n = result.GetValue(count);
            var parallel = result.GetValue(concurrency);
            var run = Guid.NewGuid().ToString("N")[..6].ToUpperInvariant();
            var fleet = new (Device Device, string Token, ECDsa Key)[n];

            var create = new LatencyRecorder();
            var wall = await LatencyRecorder.RunAsync(n, parallel, create, async i =>
            {
                var device = await devices.CreateDeviceAsync(new CreateDeviceRequest
                {
                    OsType = OSType.Linux,
                    AssetTag = $"LT{run}{i:D7}",
                    CreateEnrollToken = true,
                }, cancellationToken: cancellationToken);
                fleet[i] = (device, device.EnrollToken.Token, ECDsa.Create(ECCurve.NamedCurves.nistP256));
            });
            Console.WriteLine(create.Summary("create device + token", wall));

            // A TPM answers one command at a time: with --tpm, the fleet shares it and its ceremonies queue for it.
            using var tpm = result.GetValue(tpmSpec) is { } spec ? Tpm.Device.TpmDevice.Open(spec) : null;
            using var tpmTurn = new SemaphoreSlim(1, 1);
            var kind = tpm is null ? "key" : "TPM";

            var enroll = new LatencyRecorder();
            wall = await LatencyRecorder.RunAsync(n, parallel, enroll, async i =>
            {
                var (device, token, key) = fleet[i];
                if (tpm is null)
                {
                    fleet[i].Device = await DeviceCeremonies.EnrollAsync(channel, token, $"cred-{i}", key, Data(device.AssetTag), cancellationToken);
                    return;
                }
                await tpmTurn.WaitAsync(cancellationToken);
                try
                {
                    fleet[i].Device = await TpmCeremonies.EnrollAsync(channel, token, tpm, Data(device.AssetTag), cancellationToken);
                }
                finally
                {
                    tpmTurn.Release();
                }
            });
            Console.WriteLine(enroll.Summary($"enroll {kind} (concurrency {parallel})", wall));

            var authenticate = new LatencyRecorder();
            var total = n * result.GetValue(rounds);
            wall = await LatencyRecorder.RunAsync(total, parallel, authenticate, async i =>
            {
                var (device, _, key) = fleet[i % n];
                if (tpm is null)
                {
                    await DeviceCeremonies.AuthenticateAsync(channel, device.Id, $"cred-{i % n}", key, Data(device.AssetTag), cancellationToken);
                    return;
                }
                await tpmTurn.WaitAsync(cancellationToken);
                try
                {
                    await TpmCeremonies.AuthenticateAsync(channel, device.Id, device.Credential.Id, tpm, Data(device.AssetTag), cancellationToken);
                }
                finally
                {
                    tpmTurn.Release();
                }
            });
            Console.WriteLine(authenticate.Summary($"authenticate {kind} (concurrency {parallel})", wall));
            foreach (var (_, _, key) in fleet)
            {
                key?.Dispose();
            }
            return 0;
        });
        return command;
    }

    /// <summary>What a simulated Linux device reports about itself: its serial is its asset tag.</summary>
    internal static DeviceCollectedData Data(string serial) => new()
    {
        CollectTime = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow),
        OsType = OSType.Linux,
        SerialNumber = serial,
        OsVersion = "12",
        OsUsername = "loadtest",
    };
}
