using DeviceTrust.Core.Errors;
using DeviceTrust.Core.Secrets;
using DeviceTrust.Core.Users;
using DeviceTrust.Grains.Users;

namespace DeviceTrust.Grains.Tests;

public sealed class UserGrainOnSqliteTests(SqliteClusterFixture fixture) : UserGrainBehaviour(fixture.Silo), IClassFixture<SqliteClusterFixture>;

public sealed class UserGrainOnPostgresTests(PostgresClusterFixture fixture) : UserGrainBehaviour(fixture.Silo), IClassFixture<PostgresClusterFixture>;

public abstract class UserGrainBehaviour(SiloHarness silo)
{
    private static string NewName() => "u" + Guid.NewGuid().ToString("N")[..12];

    private async Task<(IUserGrain Grain, string Secret)> InvitedAsync(string? name = null, TimeSpan? ttl = null)
    {
        var grain = silo.Grains.GetGrain<IUserGrain>(name ?? NewName());
        var secret = SecretToken.New();
        await grain.CreateAsync(UserKind.Human, ["access"], SecretToken.Hash(secret), silo.Clock.GetUtcNow() + (ttl ?? TimeSpan.FromHours(1)));
        return (grain, secret);
    }

    private static async Task Refused(ErrorKind kind, string message, Func<Task> call)
    {
        var error = await Assert.ThrowsAsync<DeviceTrustException>(call);
        Assert.Equal(message, error.Message);
        Assert.Equal(kind, error.Kind);
    }

    [Fact]
    public async Task A_new_user_has_an_id_roles_and_an_outstanding_invitation_but_no_password()
    {
        var (grain, _) = await InvitedAsync();
        var user = await grain.GetAsync();
        Assert.NotNull(user);
        Assert.NotEqual(Guid.Empty, user.Id);
        Assert.Equal(1, user.Generation);
        Assert.Equal(["access"], user.Roles);
        Assert.False(user.HasPassword);
        Assert.NotNull(user.InviteExpires);
    }

    [Fact]
    public async Task Creating_an_existing_user_fails_with_already_exists_and_keeps_its_id()
    {
        var name = NewName();
        var (grain, _) = await InvitedAsync(name);
        var id = (await grain.GetAsync())!.Id;
        await Refused(ErrorKind.AlreadyExists, $"user \"{name}\" already exists", () => InvitedAsync(name));
        Assert.Equal(id, (await grain.GetAsync())!.Id);
    }

    [Fact]
    public async Task Unknown_roles_are_refused_and_nothing_is_written()
    {
        var grain = silo.Grains.GetGrain<IUserGrain>(NewName());
        await Refused(ErrorKind.InvalidArgument, "unknown role(s): no-such-role", () =>
            grain.CreateAsync(UserKind.Human, ["access", "no-such-role"], new byte[32], DateTimeOffset.UtcNow.AddHours(1)));
        Assert.Null(await grain.GetAsync());
    }

    [Fact]
    public async Task An_invitation_sets_the_password_once()
    {
        var (grain, secret) = await InvitedAsync();
        await grain.CheckInvitationAsync(SecretToken.Hash(secret));
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
        const string Used = "the invitation has already been used: log in with your password";
        await Refused(ErrorKind.FailedPrecondition, Used, () => grain.CheckInvitationAsync(SecretToken.Hash(secret)));
        await Refused(ErrorKind.FailedPrecondition, Used, () => grain.AcceptInvitationAsync(SecretToken.Hash(secret), "hash-2"));
        Assert.Equal("hash-1", (await grain.GetLoginRecordAsync())!.PasswordHash);
    }

    [Fact]
    public async Task An_expired_invitation_is_refused_and_stays_unspent()
    {
        var (grain, secret) = await InvitedAsync(ttl: TimeSpan.FromMinutes(10));
        silo.Clock.Advance(TimeSpan.FromMinutes(11));
        await Refused(ErrorKind.FailedPrecondition, "the invitation has expired: ask an administrator for a new one",
            () => grain.AcceptInvitationAsync(SecretToken.Hash(secret), "hash"));
        var user = (await grain.GetAsync())!;
        Assert.False(user.HasPassword);
        Assert.NotNull(user.InviteExpires);
    }

    [Fact]
    public async Task A_wrong_invitation_secret_is_refused_before_and_at_acceptance()
    {
        var (grain, _) = await InvitedAsync();
        const string Invalid = "the invitation is not valid: it was replaced or never issued";
        await Refused(ErrorKind.PermissionDenied, Invalid, () => grain.CheckInvitationAsync(SecretToken.Hash(SecretToken.New())));
        await Refused(ErrorKind.PermissionDenied, Invalid, () => grain.AcceptInvitationAsync(SecretToken.Hash(SecretToken.New()), "hash"));
        Assert.False((await grain.GetAsync())!.HasPassword);
    }

    [Fact]
    public async Task A_reset_clears_the_password_replaces_the_invitation_and_raises_the_generation()
    {
        var (grain, old) = await InvitedAsync();
        await grain.AcceptInvitationAsync(SecretToken.Hash(old), "hash-1");
        var fresh = SecretToken.New();
        var change = await grain.ResetAsync(SecretToken.Hash(fresh), silo.Clock.GetUtcNow().AddHours(1));
        Assert.Equal((1, 2), (change.Before.Generation, change.After.Generation));
        Assert.Equal(change.Before.Id, change.After.Id);
        Assert.True(change.Before.HasPassword);
        Assert.False(change.After.HasPassword);
        Assert.Null((await grain.GetLoginRecordAsync())!.PasswordHash);
        await Refused(ErrorKind.FailedPrecondition, "the invitation has already been used: log in with your password",
            () => grain.AcceptInvitationAsync(SecretToken.Hash(old), "hash"));
        Assert.True((await grain.AcceptInvitationAsync(SecretToken.Hash(fresh), "hash-2")).HasPassword);
    }

    [Fact]
    public async Task Roles_can_be_replaced_and_survive_deactivation()
    {
        var (grain, _) = await InvitedAsync();
        var change = await grain.SetRolesAsync(["auditor", "editor"]);
        Assert.Equal(["access"], change.Before.Roles);
        await silo.Cluster.DeactivateAsync(grain.GetGrainId());
        var user = (await grain.GetAsync())!;
        Assert.Equal(["auditor", "editor"], user.Roles);
        Assert.Equal(change.After.Id, user.Id);
    }

    [Fact]
    public async Task A_user_deleted_and_created_again_is_a_new_user_with_a_new_id()
    {
        var name = NewName();
        var (grain, _) = await InvitedAsync(name);
        var removed = await grain.DeleteAsync();
        Assert.Null(await grain.GetAsync());
        Assert.Null(await grain.GetLoginRecordAsync());
        await InvitedAsync(name);
        var again = (await grain.GetAsync())!;
        Assert.NotEqual(removed.Id, again.Id);
    }

    [Fact]
    public async Task Changing_a_user_that_does_not_exist_is_not_found()
    {
        var name = NewName();
        var grain = silo.Grains.GetGrain<IUserGrain>(name);
        var message = $"user \"{name}\" not found";
        await Refused(ErrorKind.NotFound, message, () => grain.SetRolesAsync(["access"]));
        await Refused(ErrorKind.NotFound, message, () => grain.DeleteAsync());
        await Refused(ErrorKind.NotFound, message, () => grain.ResetAsync(new byte[32], DateTimeOffset.UtcNow.AddHours(1)));
        await Refused(ErrorKind.NotFound, "the invitation is not valid: no such user", () => grain.CheckInvitationAsync(new byte[32]));
        Assert.Null(await grain.GetAsync());
    }

    [Fact]
    public async Task Failed_logins_from_one_source_impose_a_growing_delay_that_a_correct_password_clears()
    {
        var guard = silo.Grains.GetGrain<ILoginGuardGrain>(NewName());
        Assert.Null(await guard.RecordFailureAsync("10.0.0.1"));
        Assert.Null(await guard.RecordFailureAsync("10.0.0.1"));
        Assert.Equal(new LoginDelay(3, TimeSpan.FromSeconds(1)), await guard.RecordFailureAsync("10.0.0.1"));
        var error = await Assert.ThrowsAsync<DeviceTrustException>(() => guard.EnsureAllowedAsync("10.0.0.1"));
        Assert.Equal(ErrorKind.ResourceExhausted, error.Kind);
        Assert.Equal("too many failed logins for this user from your address: try again in 1 s", error.Message);
        Assert.NotNull(error.RetryAfter);
        // another source is not delayed: nobody can lock a user out from elsewhere
        await guard.EnsureAllowedAsync("10.0.0.2");
        silo.Clock.Advance(TimeSpan.FromSeconds(2));
        await guard.EnsureAllowedAsync("10.0.0.1");
        Assert.Equal(new LoginDelay(4, TimeSpan.FromSeconds(2)), await guard.RecordFailureAsync("10.0.0.1"));
        silo.Clock.Advance(TimeSpan.FromSeconds(3));
        Assert.Equal(new LoginDelay(4, TimeSpan.FromSeconds(2)), await guard.RecordSuccessAsync("10.0.0.1"));
        Assert.Null(await guard.RecordFailureAsync("10.0.0.1"));
    }
}
