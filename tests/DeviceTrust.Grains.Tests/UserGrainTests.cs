using DeviceTrust.Core.Errors;
using DeviceTrust.Core.Secrets;
using DeviceTrust.Core.Users;
using DeviceTrust.Grains.Users;

namespace DeviceTrust.Grains.Tests;

public sealed class UserGrainTests(SqliteClusterFixture fixture) : IClassFixture<SqliteClusterFixture>
{
    private readonly SiloHarness _silo = fixture.Silo;

    private static string NewName() => "u" + Guid.NewGuid().ToString("N")[..12];

    private async Task<(IUserGrain Grain, string Secret)> InvitedAsync(string? name = null, TimeSpan? ttl = null)
    {
        var grain = _silo.Grains.GetGrain<IUserGrain>(name ?? NewName());
        var secret = SecretToken.New();
        await grain.CreateAsync(UserKind.Human, ["access"], SecretToken.Hash(secret), _silo.Clock.GetUtcNow() + (ttl ?? TimeSpan.FromHours(1)));
        return (grain, secret);
    }

    [Fact]
    public async Task A_new_user_has_roles_and_an_outstanding_invitation_but_no_password()
    {
        var (grain, _) = await InvitedAsync();
        var user = await grain.GetAsync();
        Assert.NotNull(user);
        Assert.Equal(["access"], user.Roles);
        Assert.False(user.HasPassword);
        Assert.NotNull(user.InviteExpires);
    }

    [Fact]
    public async Task Creating_an_existing_user_fails_with_already_exists()
    {
        var name = NewName();
        await InvitedAsync(name);
        var error = await Assert.ThrowsAsync<DeviceTrustException>(() => InvitedAsync(name));
        Assert.Equal(ErrorKind.AlreadyExists, error.Kind);
    }

    [Fact]
    public async Task Unknown_roles_are_refused_and_nothing_is_written()
    {
        var grain = _silo.Grains.GetGrain<IUserGrain>(NewName());
        var error = await Assert.ThrowsAsync<DeviceTrustException>(() =>
            grain.CreateAsync(UserKind.Human, ["access", "no-such-role"], new byte[32], DateTimeOffset.UtcNow.AddHours(1)));
        Assert.Equal(ErrorKind.InvalidArgument, error.Kind);
        Assert.Contains("no-such-role", error.Message);
        Assert.Null(await grain.GetAsync());
    }

    [Fact]
    public async Task An_invitation_sets_the_password_once()
    {
        var (grain, secret) = await InvitedAsync();
        var user = await grain.AcceptInvitationAsync(SecretToken.Hash(secret), "hash-1");
        Assert.True(user.HasPassword);
        Assert.Null(user.InviteExpires);
        Assert.Equal("hash-1", (await grain.GetLoginRecordAsync())!.PasswordHash);
    }

    [Fact]
    public async Task A_spent_invitation_cannot_be_used_again()
    {
        var (grain, secret) = await InvitedAsync();
        await grain.AcceptInvitationAsync(SecretToken.Hash(secret), "hash-1");
        var error = await Assert.ThrowsAsync<DeviceTrustException>(() => grain.AcceptInvitationAsync(SecretToken.Hash(secret), "hash-2"));
        Assert.Equal(ErrorKind.FailedPrecondition, error.Kind);
        Assert.Contains("already been used", error.Message);
        Assert.Equal("hash-1", (await grain.GetLoginRecordAsync())!.PasswordHash);
    }

    [Fact]
    public async Task An_expired_invitation_is_refused_and_stays_unspent()
    {
        var (grain, secret) = await InvitedAsync(ttl: TimeSpan.FromMinutes(10));
        _silo.Clock.Advance(TimeSpan.FromMinutes(11));
        var error = await Assert.ThrowsAsync<DeviceTrustException>(() => grain.AcceptInvitationAsync(SecretToken.Hash(secret), "hash"));
        Assert.Contains("expired", error.Message);
        Assert.False((await grain.GetAsync())!.HasPassword);
    }

    [Fact]
    public async Task A_wrong_invitation_secret_is_refused()
    {
        var (grain, _) = await InvitedAsync();
        var error = await Assert.ThrowsAsync<DeviceTrustException>(() => grain.AcceptInvitationAsync(SecretToken.Hash(SecretToken.New()), "hash"));
        Assert.Equal(ErrorKind.PermissionDenied, error.Kind);
        Assert.False((await grain.GetAsync())!.HasPassword);
    }

    [Fact]
    public async Task A_reset_invitation_replaces_the_old_one()
    {
        var (grain, old) = await InvitedAsync();
        var fresh = SecretToken.New();
        await grain.ResetInvitationAsync(SecretToken.Hash(fresh), _silo.Clock.GetUtcNow().AddHours(1));
        await Assert.ThrowsAsync<DeviceTrustException>(() => grain.AcceptInvitationAsync(SecretToken.Hash(old), "hash"));
        Assert.True((await grain.AcceptInvitationAsync(SecretToken.Hash(fresh), "hash")).HasPassword);
    }

    [Fact]
    public async Task Roles_can_be_replaced_and_survive_deactivation()
    {
        var (grain, _) = await InvitedAsync();
        await grain.SetRolesAsync(["auditor", "editor"]);
        await _silo.Cluster.DeactivateAsync(grain.GetGrainId());
        Assert.Equal(["auditor", "editor"], (await grain.GetAsync())!.Roles);
    }

    [Fact]
    public async Task A_deleted_user_is_gone_and_can_be_created_again()
    {
        var name = NewName();
        var (grain, _) = await InvitedAsync(name);
        await grain.DeleteAsync();
        Assert.Null(await grain.GetAsync());
        Assert.Null(await grain.GetLoginRecordAsync());
        await InvitedAsync(name);
        Assert.NotNull(await grain.GetAsync());
    }

    [Fact]
    public async Task Changing_a_user_that_does_not_exist_is_not_found()
    {
        var grain = _silo.Grains.GetGrain<IUserGrain>(NewName());
        Assert.Equal(ErrorKind.NotFound, (await Assert.ThrowsAsync<DeviceTrustException>(() => grain.SetRolesAsync(["access"]))).Kind);
        Assert.Equal(ErrorKind.NotFound, (await Assert.ThrowsAsync<DeviceTrustException>(() => grain.DeleteAsync())).Kind);
    }
}
