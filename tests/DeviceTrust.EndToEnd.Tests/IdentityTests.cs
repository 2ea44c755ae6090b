using DeviceTrust.Client.Connection;
using DeviceTrust.Client.Profiles;
using DeviceTrust.Core.Certificates;
using DeviceTrust.Proto.V1;
using Grpc.Core;
using Grpc.Net.Client;

namespace DeviceTrust.EndToEnd.Tests;

/// <summary>
/// A name is not an identity: a certificate works only for the user it was issued to (by immutable id) and only
/// until that user is reset. Through the real gateway, with the real dtsh and dtctl.
/// </summary>
[Collection(SharedGatewayCollection.Name)]
public sealed class IdentityTests(SharedGateway shared) : IDisposable
{
    private readonly GrpcChannel _admin = GatewayChannel.ForProfile(new ProfileStore(shared.Admin.Home).Load()!);

    public void Dispose() => _admin.Dispose();

    private static async Task<RpcException?> WhoAmIAsync(Profile profile)
    {
        using var channel = GatewayChannel.ForProfile(profile);
        try
        {
            await new AuthService.AuthServiceClient(channel).WhoAmIAsync(new WhoAmIRequest());
            return null;
        }
        catch (RpcException e)
        {
            return e;
        }
    }

    private async Task<User> GetUserAsync(string name) => await new UserService.UserServiceClient(_admin).GetUserAsync(new GetUserRequest { Name = name });

    [Fact]
    public async Task A_deleted_users_certificate_does_not_come_back_when_the_name_is_used_again()
    {
        var (name, cli, _) = await shared.NewUserAsync("editor");
        var old = new ProfileStore(cli.Home).Load()!;
        var oldId = (await GetUserAsync(name)).Id;
        Assert.Equal(oldId, UserIdentity.Read(old.Certificate)!.UserId.ToString());
        Assert.Null(await WhoAmIAsync(old));

        (await shared.Admin.Dtctl("users", "rm", name)).Succeeded();
        var added = (await shared.Admin.Dtctl("users", "add", name, "--roles", "editor")).Succeeded();

        // the old certificate names the same user, but was issued to the one who is gone
        var refused = await WhoAmIAsync(old);
        Assert.NotNull(refused);
        var reason = $"your certificate was issued to an earlier user named \"{name}\", not to the current one: log in again with dtsh login";
        Refusals.Is(StatusCode.Unauthenticated, reason, refused);
        // nothing about the new user changed, and it is another user
        var fresh = await GetUserAsync(name);
        Assert.NotEqual(oldId, fresh.Id);
        Assert.False(fresh.HasPassword);
        AuditTrail.IsRefusal(await AuditTrail.LastAsync(_admin, "auth.unauthenticated", e => e.Message == reason), StatusCode.Unauthenticated, reason);
        var deleted = await AuditTrail.LastAsync(_admin, "user.delete", e => e.Target == name);
        Assert.Contains($"\"user_id\":\"{oldId}\"", deleted.Details);

        // the new person accepts the invitation: their certificate works, the old one still does not
        var token = added.StdOut.Split(' ', '\n').Single(w => w.StartsWith("dtinv1.", StringComparison.Ordinal)).Trim();
        var newcomer = new Cli(shared.Path(name + "-new"));
        (await newcomer.DtshWithInput("another password 1234\n", "login", "--proxy", shared.Gateway.Proxy, "--invite", token)).Succeeded();
        Assert.Null(await WhoAmIAsync(new ProfileStore(newcomer.Home).Load()!));
        Refusals.Is(StatusCode.Unauthenticated, reason, (await WhoAmIAsync(old))!);
    }

    [Fact]
    public async Task A_reset_voids_every_certificate_of_the_user_and_its_invitation_lets_them_back_in()
    {
        var (name, cli, password) = await shared.NewUserAsync("editor");
        var before = new ProfileStore(cli.Home).Load()!;
        var reset = (await shared.Admin.Dtctl("users", "reset", name)).Succeeded();
        Assert.Contains("every certificate issued before no longer works", reset.StdOut);

        var reason = "your certificate was revoked when your account was reset: log in again with dtsh login";
        Refusals.Is(StatusCode.Unauthenticated, reason, (await WhoAmIAsync(before))!);
        (await cli.Dtctl("users", "ls")).FailedWith(reason);
        // the password is gone with it
        (await cli.DtshWithInput(password + "\n", "login", "--user", name)).FailedWith("ERROR: invalid user name or password");
        var user = await GetUserAsync(name);
        Assert.False(user.HasPassword);
        var audit = await AuditTrail.LastAsync(_admin, "user.reset", e => e.Target == name);
        Assert.True(audit.Success);
        Assert.Equal("admin", audit.User);
        Assert.Contains("\"generation\":{\"before\":1,\"after\":2}", audit.Details);
        Assert.Contains("\"had_password\":true", audit.Details);

        var token = reset.StdOut.Split(' ', '\n').Single(w => w.StartsWith("dtinv1.", StringComparison.Ordinal)).Trim();
        (await cli.DtshWithInput("a new password 1234\n", "login", "--proxy", shared.Gateway.Proxy, "--invite", token)).Succeeded();
        var after = new ProfileStore(cli.Home).Load()!;
        Assert.Equal(2, UserIdentity.Read(after.Certificate)!.Generation);
        Assert.Null(await WhoAmIAsync(after));
    }
}
