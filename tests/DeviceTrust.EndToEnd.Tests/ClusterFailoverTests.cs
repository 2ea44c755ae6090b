using System.Collections.Concurrent;
using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json;
using DeviceTrust.Client.Devices;
using DeviceTrust.Proto.V1;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Net.Client;
using Xunit.Abstractions;

namespace DeviceTrust.EndToEnd.Tests;

/// <summary>
/// Three silo processes, two client-mode gateways and PostgreSQL. Enrollments, device authentications and access
/// decisions run through both gateways while one silo is killed with SIGKILL, or stopped with SIGTERM as a rollout
/// stops it; then every acknowledged ceremony is counted in the database with its audit event.
/// </summary>
[Collection(ClusterProcessesCollection.Name)]
public sealed class ClusterFailoverTests(ITestOutputHelper output)
{
    private sealed record Outcome(string Kind, int Gateway, TimeSpan Start, TimeSpan End, StatusCode Status, string Detail, string DeviceId);

    private static DeviceCollectedData Data(string serial) => LinuxDeviceData.Now(serial, "cluster-test");

    private static StatusCode StatusOf(Exception e) => e is RpcException rpc ? rpc.StatusCode : StatusCode.Unknown;

    /// <summary>The silos' DeviceTrust:Cluster:ShutdownTimeout (its default): a stopped silo must be gone within it.</summary>
    private static readonly TimeSpan ShutdownTimeout = TimeSpan.FromSeconds(30);

    [Theory]
    [InlineData("SIGKILL")]
    [InlineData("SIGTERM")]
    public async Task A_silo_killed_or_stopped_under_load_fails_only_in_flight_calls_retryably_and_loses_nothing_acknowledged(string signal)
    {
        await using var cluster = await ClusterProcesses.StartAsync(silos: 3, gateways: 2);
        var admin = await cluster.LoginAdminAsync();
        // Every silo registered the sweeper's reminder at start, through the ADO.NET reminder service and our SQL: one row.
        Assert.Equal(1, await cluster.CountAsync("SELECT count(*) FROM grain_reminder WHERE reminder_name = 'sweep' AND period_ms = 3600000"));
        // Each standalone silo serves its own metrics and probes (plain HTTP), and nothing else there.
        using (var silo = new HttpClient { BaseAddress = cluster.SiloHttp(0) })
        {
            var readiness = await silo.GetAsync("/readyz");
            Assert.Equal(System.Net.HttpStatusCode.OK, readiness.StatusCode);
            Assert.Equal("ready\n", await readiness.Content.ReadAsStringAsync());
            var scraped = PrometheusText.Parse(await silo.GetStringAsync("/metrics"));
            Assert.True(scraped.Has("orleans_catalog_activations") && scraped.Has("dotnet_gc_collections_total"), "the silo's Orleans and runtime meters");
            Assert.Equal(System.Net.HttpStatusCode.NotFound, (await silo.GetAsync("/login")).StatusCode);
        }
        using var first = ClusterProcesses.Channel(admin, cluster.Gateways[0]);
        using var second = ClusterProcesses.Channel(admin, cluster.Gateways[1]);
        GrpcChannel[] channels = [first, second];

        // The fleet: devices waiting for enrollment (one token each), and enrolled ones that authenticate.
        const int fresh = 300;
        const int enrolled = 12;
        var devices = new DeviceTrustService.DeviceTrustServiceClient(first);
        var created = await CreateDevicesAsync(devices, "CL", fresh + enrolled);
        var waiting = new ConcurrentQueue<(Device Device, string Token, ECDsa Key)>(
            created.Skip(enrolled).Select(d => (d, d.EnrollToken.Token, ECDsa.Create(ECCurve.NamedCurves.nistP256))));
        var ready = new List<(Device Device, ECDsa Key)>();
        foreach (var (device, i) in created.Take(enrolled).Select((d, i) => (d, i)))
        {
            var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            ready.Add((await DeviceCeremonies.EnrollAsync(channels[i % 2], device.EnrollToken.Token, $"cred-{i}", key, Data(device.AssetTag), default), key));
        }

        var tokens = waiting.ToDictionary(w => w.Device.Id, w => w.Token);
        string contestedToken(string deviceId) => tokens[deviceId];
        var outcomes = new ConcurrentBag<Outcome>();
        var clock = Stopwatch.StartNew();
        using var stop = new CancellationTokenSource();
        async Task WorkerAsync(int worker)
        {
            for (var n = 0; !stop.IsCancellationRequested; n++)
            {
                var gateway = (worker + n) % 2;
                var channel = channels[gateway];
                var start = clock.Elapsed;
                // Two workers enroll at a steady pace, so enrollments run before, through and after the kill.
                var kind = worker < 2 ? "enroll" : n % 2 == 0 ? "authenticate" : "access";
                var deviceId = "";
                try
                {
                    using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(45));
                    switch (kind)
                    {
                        case "enroll" when waiting.TryDequeue(out var next):
                            deviceId = next.Device.Id;
                            await DeviceCeremonies.EnrollAsync(channel, next.Token, $"cred-{next.Device.AssetTag}", next.Key, Data(next.Device.AssetTag), deadline.Token);
                            break;
                        case "enroll":
                            return;
                        case "authenticate":
                            var (device, key) = ready[(worker * 7 + n) % ready.Count];
                            deviceId = device.Id;
                            await DeviceCeremonies.AuthenticateAsync(channel, device.Id, device.Credential.Id, key, Data(device.AssetTag), deadline.Token);
                            break;
                        default:
                            var target = ready[(worker + n) % ready.Count].Device;
                            deviceId = target.Id;
                            var decision = await new AccessService.AccessServiceClient(channel).CheckAccessAsync(
                                new CheckAccessRequest { User = "admin", DeviceId = target.Id, Resource = new AccessResource { Kind = "app", Name = "wiki" } },
                                cancellationToken: deadline.Token);
                            break;
                    }
                    outcomes.Add(new Outcome(kind, gateway, start, clock.Elapsed, StatusCode.OK, "", deviceId));
                    if (kind == "enroll")
                    {
                        await Task.Delay(60);
                    }
                }
                catch (Exception e) when (e is RpcException or Core.Errors.DeviceTrustException or OperationCanceledException)
                {
                    outcomes.Add(new Outcome(kind, gateway, start, clock.Elapsed, StatusOf(e), e.Message, deviceId));
                }
            }
        }

        const int workerCount = 8;
        var workers = Enumerable.Range(0, workerCount).Select(w => Task.Run(() => WorkerAsync(w))).ToList();
        await Task.Delay(TimeSpan.FromSeconds(4));
        var killedAt = clock.Elapsed;
        var killedPort = await cluster.SiloPortAsync(1);
        if (signal == "SIGKILL")
        {
            await cluster.KillSiloAsync(1);
        }
        else
        {
            // A rollout: the silo leaves the cluster by itself (grains handed over, membership row Dead) and exits 0.
            var exit = await cluster.StopSiloAsync(1, ShutdownTimeout + TimeSpan.FromSeconds(5));
            output.WriteLine($"the stopped silo exited with {exit?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "nothing (killed)"} {(clock.Elapsed - killedAt).TotalSeconds:F1} s after SIGTERM");
            Assert.Equal(0, exit);
            Assert.Equal(1, await cluster.CountAsync("SELECT count(*) FROM cluster_member WHERE port = @port AND status = 6", ("port", killedPort)));
        }
        // Killed, the silo is gone at once; stopped, only once it exited: a ceremony begun on it while it was leaving
        // lost its challenge with the grain's deactivation, which is in flight too (and fails Aborted, retryably).
        var goneAt = clock.Elapsed;
        TimeSpan? declaredDead = null;
        // Run on until the cluster has served through both gateways for a while after the last failure.
        while (clock.Elapsed < killedAt + TimeSpan.FromSeconds(75))
        {
            await Task.Delay(250);
            if (declaredDead is null && await cluster.CountAsync("SELECT count(*) FROM cluster_member WHERE port = @port AND status = 6", ("port", killedPort)) > 0)
            {
                declaredDead = clock.Elapsed - killedAt;
            }
            var failures = outcomes.Where(o => o.Status != StatusCode.OK).ToList();
            var lastFailure = failures.Count == 0 ? killedAt : failures.Max(o => o.End);
            // Every kind of call, through each gateway, has succeeded since the last failure.
            var servedSince = outcomes.Where(o => o.Status == StatusCode.OK && o.Start > lastFailure).Select(o => (o.Kind, o.Gateway)).Distinct().Count();
            if (declaredDead is not null && clock.Elapsed > lastFailure + TimeSpan.FromSeconds(3) && clock.Elapsed > killedAt + TimeSpan.FromSeconds(10) && servedSince == 6)
            {
                break;
            }
        }
        await stop.CancelAsync();
        await Task.WhenAll(workers);

        var all = outcomes.ToList();
        var failed = all.Where(o => o.Status != StatusCode.OK).ToList();
        var recovered = failed.Count == 0 ? TimeSpan.Zero : failed.Max(o => o.End) - killedAt;
        var completions = all.Where(o => o.Status == StatusCode.OK).Select(o => o.End).Append(killedAt).Order().ToList();
        var longestSilence = completions.Zip(completions.Skip(1), (a, b) => b - a).Where((_, i) => completions[i + 1] > killedAt).DefaultIfEmpty().Max();
        output.WriteLine($"{all.Count} calls, {all.Count(o => o.Status == StatusCode.OK)} succeeded, {failed.Count} failed; the killed silo was declared dead "
            + $"{declaredDead?.TotalSeconds:F1} s after the kill; last failure {recovered.TotalSeconds:F1} s after it; longest time without a completed call {longestSilence.TotalSeconds:F1} s");
        output.WriteLine($"kill at {killedAt.TotalSeconds:F1} s; {waiting.Count} devices left to enroll; enrollments: "
            + string.Join(", ", all.Where(o => o.Kind == "enroll").OrderBy(o => o.Start).TakeLast(12).Select(o => $"{o.Start.TotalSeconds:F1}-{o.End.TotalSeconds:F1} {o.Status}")));
        foreach (var group in failed.GroupBy(o => (o.Kind, o.Status, o.Detail)))
        {
            output.WriteLine($"  {group.Count()} × {group.Key.Kind}: {group.Key.Status} {group.Key.Detail}");
        }

        foreach (var (gateway, i) in cluster.Gateways.Select((g, i) => (g, i)))
        {
            if (gateway.LoggedErrors() is { Length: > 0 } errors)
            {
                output.WriteLine($"gateway {i} logged:\n{errors}");
            }
        }
        // Both gateways outlived the silo.
        Assert.All(cluster.Gateways, g => Assert.True(g.Exited is null, $"gateway {g.Proxy} {g.Exited}:\n{g.Output[^Math.Min(g.Output.Length, 4000)..]}"));
        // Only calls in flight when the silo died (or until the cluster noticed) fail, and each with a status a client retries.
        Assert.All(failed, o => Assert.True(o.Status is StatusCode.Unavailable or StatusCode.Aborted,
            $"{o.Kind} through gateway {o.Gateway} at {o.Start.TotalSeconds:F1}-{o.End.TotalSeconds:F1} s: {o.Status} {o.Detail}\n{cluster.Gateways[o.Gateway].LoggedErrors(3)}"));
        // Each worker has one call in flight at a time, so at most one failure each; calls the cluster rejected while
        // it had not noticed the death yet are sent again by the gateway (they never ran) and do not fail.
        Assert.InRange(failed.Count, 0, workerCount);
        Assert.All(failed, o => Assert.True(o.Start < goneAt + TimeSpan.FromSeconds(1),
            $"a call that was not in flight when the silo died failed (gone {(goneAt - killedAt).TotalSeconds:F1} s after the signal): {o}"));
        Assert.True(recovered < TimeSpan.FromSeconds(60), $"failures went on {recovered.TotalSeconds:F1} s after the kill");
        Assert.NotNull(declaredDead);

        // Every acknowledged enrollment is in the database, enrolled, with its audit event.
        var enrollments = all.Where(o => o is { Kind: "enroll", Status: StatusCode.OK }).ToList();
        Assert.NotEmpty(enrollments);
        foreach (var enrollment in enrollments)
        {
            var stored = await new DeviceTrustService.DeviceTrustServiceClient(second).GetDeviceAsync(new GetDeviceRequest { DeviceId = enrollment.DeviceId });
            Assert.Equal(DeviceEnrollStatus.Enrolled, stored.EnrollStatus);
            Assert.Equal(1, await cluster.CountAsync(
                "SELECT count(*) FROM audit_event WHERE type = 'device.enroll' AND success AND device_id = @id", ("id", enrollment.DeviceId)));
        }
        // Every acknowledged authentication has its audit event (a call that failed at the client may have succeeded before it).
        var authentications = all.Count(o => o is { Kind: "authenticate", Status: StatusCode.OK });
        var audited = await cluster.CountAsync("SELECT count(*) FROM audit_event WHERE type = 'device.authenticate' AND success");
        Assert.InRange(audited, authentications, authentications + failed.Count(o => o.Kind == "authenticate"));
        Assert.Contains(enrollments, o => o.Start > killedAt);
        output.WriteLine($"asserted: {enrollments.Count} enrollments stored and audited ({enrollments.Count(o => o.Start > killedAt)} after the kill), "
            + $"{authentications} authentications ({audited} audited), {all.Count(o => o is { Kind: "access", Status: StatusCode.OK })} access decisions");

        // An enrollment that failed with the silo: its token was spent at most once, and spending it again either
        // enrolls the device (the token was never spent) or is refused as spent.
        foreach (var failure in failed.Where(o => o.Kind == "enroll"))
        {
            var device = await new DeviceTrustService.DeviceTrustServiceClient(second).GetDeviceAsync(new GetDeviceRequest { DeviceId = failure.DeviceId });
            var audits = await cluster.CountAsync(
                "SELECT count(*) FROM audit_event WHERE type = 'device.enroll' AND success AND device_id = @id", ("id", failure.DeviceId));
            Assert.Equal(device.EnrollStatus == DeviceEnrollStatus.Enrolled ? 1 : 0, audits);
            // Retried as a client would: again while the cluster says Unavailable (it may still be settling), for a while.
            string retry;
            var tries = 0;
            var retrying = Stopwatch.StartNew();
            while (true)
            {
                tries++;
                using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
                try
                {
                    await DeviceCeremonies.EnrollAsync(second, contestedToken(failure.DeviceId), "retry", key, Data(device.AssetTag), default);
                    retry = "enrolled";
                }
                catch (RpcException e)
                {
                    retry = $"{e.StatusCode}: {e.Status.Detail}";
                    if (e.StatusCode == StatusCode.Unavailable && retrying.Elapsed < TimeSpan.FromSeconds(60))
                    {
                        await Task.Delay(TimeSpan.FromSeconds(1));
                        continue;
                    }
                }
                break;
            }
            output.WriteLine($"failed enrollment of {device.AssetTag} ({failure.Status}): {device.EnrollStatus}, {audits} audited; the same token again: {retry}"
                + (tries > 1 ? $" (after {tries} tries, {retrying.Elapsed.TotalSeconds:F1} s)" : ""));
            // The caller hears the short reason; the audit log has the real one.
            Assert.True(retry is "enrolled" or "PermissionDenied: invalid device enrollment token",
                $"{retry}\n{cluster.Gateways[1].LoggedErrors(3, last: true)}\n{string.Join('\n', cluster.Silos.Select(s => s?.LoggedErrors(3, last: true)))}");
            if (retry != "enrolled")
            {
                Assert.Equal(1, await SpentRefusalsAsync(cluster, device.AssetTag));
            }
            Assert.True(retry != "enrolled" || device.EnrollStatus != DeviceEnrollStatus.Enrolled, "a device enrolled twice with one token");
        }

        if (signal == "SIGTERM")
        {
            // What follows (tokens raced through both gateways, locks, cluster status, gateway failover, a restart of
            // the whole cluster) is the same cluster either way: it runs once, after the kill.
            return;
        }

        // The same token through both gateways at once, many times: exactly one enrollment each.
        var contested = await CreateDevicesAsync(devices, "TK", 12);
        var races = await Task.WhenAll(contested.Select(async device =>
        {
            var attempts = await Task.WhenAll(channels.Select(async channel =>
            {
                using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
                try
                {
                    await DeviceCeremonies.EnrollAsync(channel, device.EnrollToken.Token, $"race-{Guid.NewGuid():N}", key, Data(device.AssetTag), default);
                    return "enrolled";
                }
                catch (RpcException e)
                {
                    return $"{e.StatusCode}: {e.Status.Detail}";
                }
            }));
            return (device, attempts);
        }));
        foreach (var (device, attempts) in races)
        {
            Assert.Single(attempts, a => a == "enrolled");
            Assert.Single(attempts, a => a == "PermissionDenied: invalid device enrollment token");
            Assert.Equal(1, await SpentRefusalsAsync(cluster, device.AssetTag));
            Assert.Equal(1, await cluster.CountAsync(
                "SELECT count(*) FROM audit_event WHERE type = 'device.enroll' AND success AND device_id = @id", ("id", device.Id)));
        }

        // A lock made through one gateway is in force at the other within the policy cache's 2 s.
        var locked = ready[0].Device;
        var check = new CheckAccessRequest { User = "admin", DeviceId = locked.Id, Resource = new AccessResource { Kind = "app", Name = "wiki" } };
        var other = new AccessService.AccessServiceClient(second);
        Assert.DoesNotContain((await other.CheckAccessAsync(check)).Reasons, r => r.Contains("lock", StringComparison.Ordinal));
        await new LockService.LockServiceClient(first).CreateLockAsync(new CreateLockRequest { DeviceId = locked.Id, Message = "stolen" });
        var lockedAt = Stopwatch.StartNew();
        for (var answer = await other.CheckAccessAsync(check); !answer.Reasons.Any(r => r.StartsWith("lock targeting device", StringComparison.Ordinal)); answer = await other.CheckAccessAsync(check))
        {
            Assert.True(lockedAt.Elapsed < TimeSpan.FromSeconds(5), $"the lock is not in force at the other gateway after 5 s: {answer}");
            await Task.Delay(50);
        }
        output.WriteLine($"a lock made through one gateway was in force at the other after {lockedAt.Elapsed.TotalSeconds:F2} s");
        Assert.True(lockedAt.Elapsed < TimeSpan.FromSeconds(2.5), $"the lock took {lockedAt.Elapsed.TotalSeconds:F2} s to reach the other gateway");

        // dtctl cluster status: the two silos left are active and hold grains, the killed one is dead, both gateways report.
        // Presence is in the registry grain's memory: if that grain was on the killed silo, its new activation knows each
        // gateway from its next report, which a gateway sends a second after a failed one (else every 10 s).
        var text = (await cluster.Admin.Dtctl("cluster", "status")).Succeeded().StdOut;
        output.WriteLine(text);
        var statusJson = "";
        for (var waited = System.Diagnostics.Stopwatch.StartNew(); ; await Task.Delay(500))
        {
            statusJson = (await cluster.Admin.Dtctl("cluster", "status", "--format", "json")).Succeeded().StdOut;
            using var probe = JsonDocument.Parse(statusJson);
            if (probe.RootElement.GetProperty("gateways").GetArrayLength() == cluster.Gateways.Count || waited.Elapsed > TimeSpan.FromSeconds(12))
            {
                output.WriteLine($"both gateways listed {waited.Elapsed.TotalSeconds:F1} s after the calls ended");
                break;
            }
        }
        using (var status = JsonDocument.Parse(statusJson))
        {
            var silos = status.RootElement.GetProperty("silos").EnumerateArray().ToList();
            Assert.Equal(3, silos.Count);
            Assert.Equal(2, silos.Count(s => s.GetProperty("status").GetString() == "active" && s.GetProperty("activations").GetInt32() > 0));
            Assert.Single(silos, s => s.GetProperty("status").GetString() == "dead" && s.GetProperty("address").GetString()!.EndsWith($":{killedPort}", StringComparison.Ordinal));
            var reported = status.RootElement.GetProperty("gateways").EnumerateArray().ToList();
            Assert.All(reported, g => Assert.Equal("client", g.GetProperty("mode").GetString()));
            Assert.Equal(cluster.Gateways.Select(g => g.Proxy).Order(), reported.Select(g => g.GetProperty("listen").GetString()).Order());
        }

        // Stop the whole cluster and start it again: every state is there, and what expires expires on time.
        var shortly = TimeSpan.FromSeconds(30);
        var expiring = await devices.CreateDeviceAsync(new CreateDeviceRequest
        {
            OsType = OSType.Linux,
            AssetTag = "EXP0001",
            CreateEnrollToken = true,
            EnrollTokenTtl = Duration.FromTimeSpan(shortly),
        });
        var passing = ready[1].Device;
        await new LockService.LockServiceClient(first).CreateLockAsync(new CreateLockRequest { DeviceId = passing.Id, Message = "for a moment", Ttl = Duration.FromTimeSpan(shortly) });
        var expires = DateTimeOffset.UtcNow + shortly;
        const string countDevices = "SELECT count(*) FROM grain_state WHERE state_name = 'device' AND payload IS NOT NULL";
        var storedDevices = await cluster.CountAsync(countDevices);
        var restart = Stopwatch.StartNew();
        await cluster.StopAllAsync();
        await cluster.StartAgainAsync(silos: 3);
        output.WriteLine($"the whole cluster stopped and started again in {restart.Elapsed.TotalSeconds:F1} s");
        Assert.Equal(storedDevices, await cluster.CountAsync(countDevices));
        Assert.Equal(fresh + enrolled + contested.Count + 1, storedDevices);
        // The CA, the user and an enrolled device's credential survived: the old certificate works and the device authenticates.
        await DeviceCeremonies.AuthenticateAsync(second, ready[2].Device.Id, ready[2].Device.Credential.Id, ready[2].Key, Data(ready[2].Device.AssetTag), default);
        Assert.Contains((await other.CheckAccessAsync(check)).Reasons, r => r == $"lock targeting device {locked.AssetTag} is in force: stolen");
        var wait = expires + TimeSpan.FromSeconds(1) - DateTimeOffset.UtcNow;
        if (wait > TimeSpan.Zero)
        {
            await Task.Delay(wait);
        }
        var passingCheck = check.Clone();
        passingCheck.DeviceId = passing.Id;
        var passed = await other.CheckAccessAsync(passingCheck);
        Assert.DoesNotContain(passed.Reasons, r => r.Contains("for a moment", StringComparison.Ordinal));
        using (var key = ECDsa.Create(ECCurve.NamedCurves.nistP256))
        {
            var late = await Assert.ThrowsAsync<RpcException>(() => DeviceCeremonies.EnrollAsync(first, expiring.EnrollToken.Token, "late", key, Data("EXP0001"), default));
            Assert.Equal((StatusCode.PermissionDenied, "invalid device enrollment token"), (late.StatusCode, late.Status.Detail));
        }
        Assert.Equal(1, await cluster.CountAsync(
            "SELECT count(*) FROM audit_event WHERE type = 'device.enroll' AND NOT success AND asset_tag = 'EXP0001' AND message = 'invalid device enrollment token: expired'"));
        Assert.Equal(DeviceEnrollStatus.NotEnrolled, (await devices.GetDeviceAsync(new GetDeviceRequest { DeviceId = expiring.Id })).EnrollStatus);

        // A client given both gateways carries on through the other when one is killed; nothing acknowledged is lost.
        using var both = Client.Connection.GatewayChannel.ForProfile(admin);
        var viaBoth = new List<(bool Ok, StatusCode Status, TimeSpan At, string DeviceId)>();
        var failover = Stopwatch.StartNew();
        TimeSpan? gatewayKilled = null;
        TimeSpan? secondKilled = null;
        var remaining = new Queue<(Device Device, string Token, ECDsa Key)>(waiting);
        // Kill one gateway, bring it back, then kill the other, while ceremonies run: whichever gateway the client
        // is connected to, one kill cuts its connection with a ceremony in flight.
        var killer = Task.Run(async () =>
        {
            await Task.Delay(TimeSpan.FromSeconds(2));
            await cluster.Gateways[0].KillAsync();
            gatewayKilled = failover.Elapsed;
            await cluster.Gateways[0].StartAsync();
            await Task.Delay(TimeSpan.FromSeconds(1));
            await cluster.Gateways[1].KillAsync();
            secondKilled = failover.Elapsed;
        });
        while ((!killer.IsCompleted || failover.Elapsed < secondKilled + TimeSpan.FromSeconds(2)) && remaining.TryDequeue(out var next))
        {
            try
            {
                await DeviceCeremonies.EnrollAsync(both, next.Token, $"cred-{next.Device.AssetTag}", next.Key, Data(next.Device.AssetTag), default);
                viaBoth.Add((true, StatusCode.OK, failover.Elapsed, next.Device.Id));
                await DeviceCeremonies.AuthenticateAsync(both, next.Device.Id, $"cred-{next.Device.AssetTag}", next.Key, Data(next.Device.AssetTag), default);
            }
            catch (RpcException e)
            {
                viaBoth.Add((false, e.StatusCode, failover.Elapsed, next.Device.Id));
            }
        }
        await killer;
        var lost = viaBoth.Where(c => !c.Ok).ToList();
        output.WriteLine($"through both gateways: {viaBoth.Count(c => c.Ok)} enrollments, {lost.Count} failed ({string.Join(", ", lost.Select(c => c.Status))}) when one gateway was killed");
        Assert.True(lost.Count <= 2, "more than the calls in flight failed when the gateways died");
        Assert.All(lost, c => Assert.Equal(StatusCode.Unavailable, c.Status));
        Assert.Contains(viaBoth, c => c.Ok && c.At > gatewayKilled && c.At < secondKilled);
        Assert.Contains(viaBoth, c => c.Ok && c.At > secondKilled);
        foreach (var (_, _, _, deviceId) in viaBoth.Where(c => c.Ok))
        {
            Assert.Equal(1, await cluster.CountAsync(
                "SELECT count(*) FROM audit_event WHERE type = 'device.enroll' AND success AND device_id = @id", ("id", deviceId)));
        }
    }

    private static Task<long> SpentRefusalsAsync(ClusterProcesses cluster, string assetTag) => cluster.CountAsync(
        "SELECT count(*) FROM audit_event WHERE type = 'device.enroll' AND NOT success AND status = 'PermissionDenied' AND asset_tag = @tag AND message = 'invalid device enrollment token: already spent'",
        ("tag", assetTag));

    private static async Task<List<Device>> CreateDevicesAsync(DeviceTrustService.DeviceTrustServiceClient devices, string prefix, int count)
    {
        var made = new List<Device>();
        foreach (var batch in Enumerable.Range(0, count).Chunk(16))
        {
            made.AddRange(await Task.WhenAll(batch.Select(async i => await devices.CreateDeviceAsync(
                new CreateDeviceRequest { OsType = OSType.Linux, AssetTag = $"{prefix}{i:D4}", CreateEnrollToken = true }))));
        }
        return made;
    }
}
