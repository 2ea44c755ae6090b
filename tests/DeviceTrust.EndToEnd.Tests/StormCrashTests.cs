using System.Collections.Concurrent;
using System.Security.Cryptography;
using DeviceTrust.Client.Connection;
using DeviceTrust.Client.Devices;
using DeviceTrust.Proto.V1;
using Google.Protobuf.WellKnownTypes;
using Grpc.Net.Client;

namespace DeviceTrust.EndToEnd.Tests;

/// <summary>
/// Nothing acknowledged is lost: a gateway killed (SIGKILL) in the middle of a storm of device authentications,
/// started again on the same data folder, has an audit event for every authentication a client was answered for, and
/// no more than those plus the ones in flight at the kill; and every device authenticates again afterwards. The storm
/// goes through the group commit of audit events and the SQLite writer, the paths a crash would find.
/// </summary>
public sealed class StormCrashTests : IAsyncLifetime
{
    private const int Devices = 24;
    private const int Workers = 16;
    private readonly CrashCluster _cluster = new();

    private sealed class CrashCluster() : GatewayCluster("dt-crash", GatewayProcess.HighLimits);

    public Task InitializeAsync() => _cluster.InitializeAsync();

    public Task DisposeAsync() => _cluster.DisposeAsync();

    private static DeviceCollectedData Data(string serial) => LinuxDeviceData.Now(serial, "crash");

    [Fact]
    public async Task A_gateway_killed_mid_storm_kept_every_authentication_it_answered()
    {
        var since = DateTimeOffset.UtcNow.AddSeconds(-1);
        var fleet = new List<(Device Device, ECDsa Key)>();
        using (var channel = GatewayChannel.ForProfile(_cluster.AdminProfile))
        {
            var admin = new DeviceTrustService.DeviceTrustServiceClient(channel);
            for (var i = 0; i < Devices; i++)
            {
                var created = await admin.CreateDeviceAsync(new CreateDeviceRequest
                {
                    OsType = OSType.Linux,
                    AssetTag = $"CRASH{i:D3}",
                    CreateEnrollToken = true,
                });
                var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
                fleet.Add((await DeviceCeremonies.EnrollAsync(channel, created.EnrollToken.Token, $"cred-{i}", key, Data(created.AssetTag), default), key));
            }
        }

        var acknowledged = new ConcurrentDictionary<string, int>();
        var channels = Enumerable.Range(0, 2).Select(_ => GatewayChannel.ForProfile(_cluster.AdminProfile)).ToArray();
        using var stop = new CancellationTokenSource();
        var storm = Enumerable.Range(0, Workers).Select(worker => Task.Run(async () =>
        {
            for (var n = worker; !stop.IsCancellationRequested; n += Workers)
            {
                var (device, key) = fleet[n % Devices];
                try
                {
                    await DeviceCeremonies.AuthenticateAsync(channels[n % channels.Length], device.Id, $"cred-{n % Devices}", key, Data(device.AssetTag), default);
                }
                catch (Exception) when (stop.IsCancellationRequested)
                {
                    // Cut off by the kill: not acknowledged, so not counted. Before the kill nothing may fail.
                    return;
                }
                acknowledged.AddOrUpdate(device.Id, 1, (_, count) => count + 1);
            }
        })).ToList();
        // Until the storm is well under way, then the kill, with authentications in flight.
        while (acknowledged.Values.Sum() < 300 && storm.All(t => !t.IsCompleted))
        {
            await Task.Delay(20);
        }
        Assert.All(storm.Where(t => t.IsFaulted), t => Assert.Fail(t.Exception!.ToString()));
        stop.Cancel();
        await _cluster.Gateway.KillAsync();
        await Task.WhenAll(storm);
        foreach (var channel in channels)
        {
            channel.Dispose();
        }

        await _cluster.Gateway.StartAsync();
        using var after = GatewayChannel.ForProfile(_cluster.AdminProfile);
        var recorded = (await AuditTrail.EventsAsync(after, "device.authenticate", since))
            .Where(e => e.Success && e.AssetTag.StartsWith("CRASH", StringComparison.Ordinal))
            .GroupBy(e => e.DeviceId)
            .ToDictionary(g => g.Key, g => g.Count());
        var answered = acknowledged.Values.Sum();
        Assert.True(answered >= 300, $"only {answered} authentications were answered before the kill");
        foreach (var (deviceId, count) in acknowledged)
        {
            Assert.True(recorded.GetValueOrDefault(deviceId) >= count,
                $"device {deviceId}: {count} authentications answered, {recorded.GetValueOrDefault(deviceId)} recorded");
        }
        // At most the calls in flight at the kill were recorded without their answer reaching the client.
        Assert.InRange(recorded.Values.Sum(), answered, answered + Workers);

        // Every device's state survived whole: each authenticates again.
        for (var i = 0; i < Devices; i++)
        {
            var (device, key) = fleet[i];
            var certificates = await DeviceCeremonies.AuthenticateAsync(after, device.Id, $"cred-{i}", key, Data(device.AssetTag), default);
            Assert.NotEmpty(certificates.X509Der);
            key.Dispose();
        }
    }
}
