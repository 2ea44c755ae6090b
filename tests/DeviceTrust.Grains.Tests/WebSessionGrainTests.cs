using System.Security.Cryptography;
using DeviceTrust.Core.Errors;
using DeviceTrust.Grains.Web;

namespace DeviceTrust.Grains.Tests;

/// <summary>
/// Web console sessions on real storage: live while used within the idle timeout and the lifetime, gone after
/// either or after an end, on every activation (the state survives deactivation; the end does too).
/// </summary>
public sealed class WebSessionGrainTests(SqliteClusterFixture fixture) : IClassFixture<SqliteClusterFixture>
{
    private readonly SiloHarness _silo = fixture.Silo;
    private static readonly WebSessionStart Alice = new(Guid.NewGuid().ToString(), "alice", "10.0.0.5", TimeSpan.FromMinutes(15), TimeSpan.FromHours(12));

    private IWebSessionGrain NewSession() => _silo.Grains.GetGrain<IWebSessionGrain>(Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32)));

    [Fact]
    public async Task A_session_in_use_stays_live_across_deactivation_and_ends_once()
    {
        var session = NewSession();
        var started = await session.StartAsync(Alice);
        Assert.Equal(("alice", Alice.UserId, "10.0.0.5"), (started.UserName, started.UserId, started.ClientIp));
        Assert.Equal(started.Started + TimeSpan.FromHours(12), started.Expires);
        for (var i = 0; i < 5; i++)
        {
            _silo.Clock.Advance(TimeSpan.FromMinutes(10));
            Assert.Equal(started, await session.TouchAsync());
        }
        // the use was written (more than a tenth of the idle timeout ago): a new activation keeps the session
        await _silo.Cluster.DeactivateAsync(session.GetGrainId());
        _silo.Clock.Advance(TimeSpan.FromMinutes(10));
        Assert.Equal(started, await session.TouchAsync());

        Assert.True(await session.EndAsync());
        Assert.Null(await session.TouchAsync());
        Assert.False(await session.EndAsync());
        await _silo.Cluster.DeactivateAsync(session.GetGrainId());
        Assert.Null(await session.TouchAsync());
    }

    [Fact]
    public async Task An_idle_session_ends_and_stays_ended()
    {
        var session = NewSession();
        await session.StartAsync(Alice);
        _silo.Clock.Advance(TimeSpan.FromMinutes(15));
        Assert.Null(await session.TouchAsync());
        await _silo.Cluster.DeactivateAsync(session.GetGrainId());
        Assert.Null(await session.TouchAsync());
    }

    [Fact]
    public async Task A_session_ends_at_its_lifetime_however_busy()
    {
        var session = NewSession();
        await session.StartAsync(Alice with { Lifetime = TimeSpan.FromMinutes(30) });
        _silo.Clock.Advance(TimeSpan.FromMinutes(14));
        Assert.NotNull(await session.TouchAsync());
        _silo.Clock.Advance(TimeSpan.FromMinutes(14));
        Assert.NotNull(await session.TouchAsync());
        _silo.Clock.Advance(TimeSpan.FromMinutes(2));
        Assert.Null(await session.TouchAsync());
    }

    [Fact]
    public async Task A_second_start_under_the_same_key_is_refused_and_changes_nothing()
    {
        var session = NewSession();
        var first = await session.StartAsync(Alice);
        var refused = await Assert.ThrowsAsync<DeviceTrustException>(() => session.StartAsync(Alice with { UserName = "mallory" }));
        Assert.Equal((ErrorKind.AlreadyExists, "this web session exists already"), (refused.Kind, refused.Message));
        Assert.Equal(first, await session.TouchAsync());
    }

    [Fact]
    public async Task A_trusted_device_stays_with_the_session_and_an_ended_session_cannot_be_upgraded()
    {
        var session = NewSession();
        await session.StartAsync(Alice);
        var device = new WebSessionDevice(Guid.NewGuid().ToString(), "C02XYZ", "cred-1", _silo.Clock.GetUtcNow());
        Assert.Equal(device, (await session.TrustDeviceAsync(device)).Device);
        await _silo.Cluster.DeactivateAsync(session.GetGrainId());
        Assert.Equal(device, (await session.TouchAsync())!.Device);

        await session.EndAsync();
        var refused = await Assert.ThrowsAsync<DeviceTrustException>(() => session.TrustDeviceAsync(device));
        Assert.Equal((ErrorKind.FailedPrecondition, "the web session has ended: log in again"), (refused.Kind, refused.Message));
        Assert.Null(await session.TouchAsync());
    }
}
