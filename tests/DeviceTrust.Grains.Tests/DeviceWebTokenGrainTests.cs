using System.Security.Cryptography;
using DeviceTrust.Core.Errors;
using DeviceTrust.Grains.Web;

namespace DeviceTrust.Grains.Tests;

/// <summary>
/// The secrets of device web authentication on real storage: spent once (also by racing callers, also across
/// deactivation), never past their expiry, never by another user, never as the other kind; a refusal spends nothing.
/// </summary>
public sealed class DeviceWebTokenGrainTests(SqliteClusterFixture fixture) : IClassFixture<SqliteClusterFixture>
{
    private readonly SiloHarness _silo = fixture.Silo;
    private static readonly string Alice = Guid.NewGuid().ToString();

    private async Task<IDeviceWebTokenGrain> NewAsync(DeviceWebTokenKind kind = DeviceWebTokenKind.WebToken, TimeSpan? lifetime = null)
    {
        var grain = _silo.Grains.GetGrain<IDeviceWebTokenGrain>(Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32)));
        await grain.CreateAsync(new DeviceWebToken(kind, "session-key", Alice, "alice", "10.0.0.5", _silo.Clock.GetUtcNow() + (lifetime ?? DeviceWebToken.Lifetime)));
        return grain;
    }

    private static async Task Refused(string reason, Func<Task> spend)
    {
        var refused = await Assert.ThrowsAsync<DeviceTrustException>(spend);
        Assert.Equal((ErrorKind.PermissionDenied, reason), (refused.Kind, refused.Message));
    }

    [Fact]
    public async Task Of_racing_spenders_one_wins_and_a_spent_token_stays_spent_across_deactivation()
    {
        var token = await NewAsync();
        var attempts = await Task.WhenAll(Enumerable.Range(0, 8).Select(async _ =>
        {
            try
            {
                return await token.SpendAsync(DeviceWebTokenKind.WebToken, Alice);
            }
            catch (DeviceTrustException)
            {
                return null;
            }
        }));
        var won = Assert.Single(attempts, a => a is not null)!;
        Assert.Equal(("session-key", "10.0.0.5"), (won.SessionKey, won.BrowserIp));
        await _silo.Cluster.DeactivateAsync(token.GetGrainId());
        await Refused("invalid device web token: already used", () => token.SpendAsync(DeviceWebTokenKind.WebToken, Alice));
    }

    [Fact]
    public async Task Refusals_spend_nothing_and_say_why()
    {
        var token = await NewAsync();
        await Refused("invalid device web token: issued to another user (alice)", () => token.SpendAsync(DeviceWebTokenKind.WebToken, Guid.NewGuid().ToString()));
        await Refused("invalid device web confirmation: unknown", () => token.SpendAsync(DeviceWebTokenKind.Confirmation, Alice));
        // still good for its user, as the kind it is
        Assert.Equal(Alice, (await token.SpendAsync(DeviceWebTokenKind.WebToken, Alice)).UserId);

        var unknown = _silo.Grains.GetGrain<IDeviceWebTokenGrain>(Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32)));
        await Refused("invalid device web token: unknown", () => unknown.SpendAsync(DeviceWebTokenKind.WebToken, Alice));
    }

    [Fact]
    public async Task An_expired_secret_is_refused()
    {
        var confirmation = await NewAsync(DeviceWebTokenKind.Confirmation, TimeSpan.FromMinutes(5));
        _silo.Clock.Advance(TimeSpan.FromMinutes(5));
        await Refused("invalid device web confirmation: expired", () => confirmation.SpendAsync(DeviceWebTokenKind.Confirmation, Alice));
    }

    [Fact]
    public async Task A_second_create_under_the_same_key_is_refused()
    {
        var token = await NewAsync();
        var refused = await Assert.ThrowsAsync<DeviceTrustException>(() =>
            token.CreateAsync(new DeviceWebToken(DeviceWebTokenKind.WebToken, "other", Alice, "alice", "10.0.0.9", _silo.Clock.GetUtcNow().AddMinutes(5))));
        Assert.Equal((ErrorKind.AlreadyExists, "this device web token exists already"), (refused.Kind, refused.Message));
        Assert.Equal("session-key", (await token.SpendAsync(DeviceWebTokenKind.WebToken, Alice)).SessionKey);
    }
}
