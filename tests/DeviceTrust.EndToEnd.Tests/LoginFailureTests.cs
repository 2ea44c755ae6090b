using System.Security.Cryptography.X509Certificates;
using DeviceTrust.Client.Profiles;
using DeviceTrust.Testing;
using Grpc.Core;

namespace DeviceTrust.EndToEnd.Tests;

[Collection(SharedGatewayCollection.Name)]
public sealed class LoginFailureTests(SharedGateway shared) : IDisposable
{
    private readonly Grpc.Net.Client.GrpcChannel _admin = Client.Connection.GatewayChannel.ForProfile(new ProfileStore(shared.Admin.Home).Load()!);

    public void Dispose() => _admin.Dispose();

    private X509Certificate2 Ca => new ProfileStore(shared.Admin.Home).Load()!.Ca;

    [Fact]
    public async Task A_wrong_password_and_an_unknown_user_get_the_same_answer()
    {
        var (name, cli, _) = await shared.NewUserAsync("access");
        var wrong = await cli.DtshWithInput("not the password\n", "login", "--user", name);
        var unknown = await cli.DtshWithInput("not the password\n", "login", "--user", "nobody-" + name);
        wrong.FailedWith("ERROR: invalid user name or password");
        unknown.FailedWith("ERROR: invalid user name or password");
        Assert.Equal(wrong.StdErr, unknown.StdErr);
        // the audit log has the real reasons
        AuditTrail.IsRefusal(await AuditTrail.LastAsync(_admin, "user.login", e => e.User == name), StatusCode.Unauthenticated, "wrong password");
        AuditTrail.IsRefusal(await AuditTrail.LastAsync(_admin, "user.login", e => e.User == "nobody-" + name), StatusCode.Unauthenticated, "no such user");
    }

    [Fact]
    public async Task A_reused_invitation_is_refused()
    {
        var carol = "carol" + Guid.NewGuid().ToString("N")[..6];
        var added = (await shared.Admin.Dtctl("users", "add", carol, "--roles", "access")).Succeeded();
        var token = added.StdOut.Split(' ', '\n').Single(w => w.StartsWith("dtinv1.", StringComparison.Ordinal)).Trim();
        var first = new Cli(shared.Path("carol-1-" + Guid.NewGuid().ToString("N")));
        (await first.DtshWithInput("carol password 123\n", "login", "--proxy", shared.Gateway.Proxy, "--invite", token)).Succeeded();
        var second = new Cli(shared.Path("carol-2-" + Guid.NewGuid().ToString("N")));
        const string Used = "the invitation has already been used: log in with your password";
        (await second.DtshWithInput("other password 123\n", "login", "--proxy", shared.Gateway.Proxy, "--invite", token)).FailedWith(Used);
        AuditTrail.IsRefusal(await AuditTrail.LastAsync(_admin, "user.invitation.accept", e => e.User == carol), StatusCode.FailedPrecondition, Used);
        // the first password still works, the second was never set
        (await first.DtshWithInput("carol password 123\n", "login", "--user", carol)).Succeeded();
        (await second.DtshWithInput("other password 123\n", "login", "--proxy", shared.Gateway.Proxy, "--user", carol, "--ca-pin", shared.Gateway.CaPin))
            .FailedWith("invalid user name or password");
    }

    [Fact]
    public async Task A_short_password_leaves_the_invitation_usable()
    {
        var added = (await shared.Admin.Dtctl("users", "add", "dave" + Guid.NewGuid().ToString("N")[..6], "--roles", "access")).Succeeded();
        var token = added.StdOut.Split(' ', '\n').Single(w => w.StartsWith("dtinv1.", StringComparison.Ordinal)).Trim();
        var cli = new Cli(shared.Path("dave-" + Guid.NewGuid().ToString("N")));
        (await cli.DtshWithInput("short\n", "login", "--proxy", shared.Gateway.Proxy, "--invite", token)).FailedWith("the password is too short");
        var dave = added.StdOut.Split('"')[1];
        AuditTrail.IsRefusal(await AuditTrail.LastAsync(_admin, "user.invitation.accept", e => e.User == dave), StatusCode.InvalidArgument,
            "the password is too short: use at least 12 characters");
        (await cli.DtshWithInput("long enough password\n", "login", "--proxy", shared.Gateway.Proxy, "--invite", token)).Succeeded();
    }

    [Fact]
    public async Task An_expired_certificate_is_refused_by_the_client_and_at_the_gateways_handshake()
    {
        var (name, cli, password) = await shared.NewUserAsync("editor");
        (await cli.DtshWithInput(password + "\n", "login", "--user", name, "--ttl", "2s")).Succeeded();
        await Task.Delay(TimeSpan.FromSeconds(3));
        (await cli.Dtctl("users", "ls")).FailedWith("your certificate expired");
        var profile = new ProfileStore(cli.Home).Load()!;
        // the gateway refuses the handshake: the connection closes, so the client sees Unavailable
        Assert.Equal(StatusCode.Unavailable, await DirectClient.WhoAmIStatusAsync(shared.Gateway.Proxy, Ca, profile.CertificateWithKey()));
        Assert.True(await shared.Gateway.WaitForOutputAsync($"Rejected a client certificate (subject CN={name}, O=DeviceTrust"), "the gateway did not log the rejection");
        var audit = await AuditTrail.EventuallyAsync(_admin, "auth.unauthenticated", e => e.User == name && e.Message.Contains("NotTimeValid", StringComparison.Ordinal));
        Assert.StartsWith("client certificate rejected at the TLS handshake: NotTimeValid", audit.Message);
        Assert.Equal(("127.0.0.1", "Unauthenticated"), (audit.ClientIp, audit.Status));
    }

    [Fact]
    public async Task A_connection_that_outlives_its_certificate_is_refused_by_the_gateway_itself()
    {
        var (name, cli, password) = await shared.NewUserAsync("editor");
        (await cli.DtshWithInput(password + "\n", "login", "--user", name, "--ttl", "3s")).Succeeded();
        var profile = new ProfileStore(cli.Home).Load()!;
        using var channel = Client.Connection.GatewayChannel.ForProfile(profile);
        var auth = new Proto.V1.AuthService.AuthServiceClient(channel);
        await auth.WhoAmIAsync(new Proto.V1.WhoAmIRequest());
        await Task.Delay(profile.ValidUntil - DateTimeOffset.UtcNow + TimeSpan.FromMilliseconds(500));
        // the HTTP/2 connection (and its handshake) is still the one from before the expiry
        var error = await Refusals.Of(() => auth.WhoAmIAsync(new Proto.V1.WhoAmIRequest()).ResponseAsync);
        Refusals.Is(StatusCode.Unauthenticated, "your certificate has expired: log in again with dtsh login", error);
        AuditTrail.IsRefusal(await AuditTrail.LastAsync(_admin, "auth.unauthenticated", e => e.User == name && e.Message.StartsWith("your certificate has expired", StringComparison.Ordinal)),
            StatusCode.Unauthenticated, "your certificate has expired: log in again with dtsh login");
    }

    [Fact]
    public async Task A_certificate_from_a_foreign_ca_is_refused_at_the_handshake_and_audited()
    {
        var user = "foreign-" + Guid.NewGuid().ToString("N")[..8];
        using var foreign = DirectClient.ForeignCertificate(user);
        Assert.Equal(StatusCode.Unavailable, await DirectClient.WhoAmIStatusAsync(shared.Gateway.Proxy, Ca, foreign));
        Assert.True(await shared.Gateway.WaitForOutputAsync($"Rejected a client certificate (subject CN={user}, O=DeviceTrust"), "the gateway did not log the rejection");
        var audit = await AuditTrail.EventuallyAsync(_admin, "auth.unauthenticated", e => e.User == user);
        Assert.StartsWith("client certificate rejected at the TLS handshake: PartialChain", audit.Message);
        Assert.False(audit.Success);
    }

    [Fact]
    public async Task Calls_without_a_certificate_are_unauthenticated_and_audited()
    {
        var since = DateTimeOffset.UtcNow.AddSeconds(-1);
        using var channel = Client.Connection.GatewayChannel.Anonymous(shared.Gateway.Proxy, Ca);
        var error = await Refusals.Of(() => new Proto.V1.UserService.UserServiceClient(channel).ListUsersAsync(new Proto.V1.ListUsersRequest()).ResponseAsync);
        Refusals.Is(StatusCode.Unauthenticated, "a client certificate is required: log in with dtsh login", error);
        // sampled: the first of its kind in a minute is written at once, so one is there (perhaps from an earlier call)
        var audit = await AuditTrail.LastAsync(_admin, "auth.unauthenticated", e => e.Message.Contains("a client certificate is required", StringComparison.Ordinal));
        Assert.Equal(("127.0.0.1", "Unauthenticated"), (audit.ClientIp, audit.Status));
    }

    [Fact]
    public async Task A_valid_certificate_is_accepted() =>
        Assert.Equal(StatusCode.OK,
            await DirectClient.WhoAmIStatusAsync(shared.Gateway.Proxy, Ca, new ProfileStore(shared.Admin.Home).Load()!.CertificateWithKey()));

    [Fact]
    public async Task A_wrong_ca_pin_stops_the_login_before_the_password_is_asked()
    {
        var cli = new Cli(shared.Path("pin-" + Guid.NewGuid().ToString("N")));
        var wrongPin = "sha256:" + new string('0', 64);
        (await cli.DtshWithInput("admin password 1234\n", "login", "--proxy", shared.Gateway.Proxy, "--user", "admin", "--ca-pin", wrongPin))
            .FailedWith("does not match the pin");
    }

    [Fact]
    public async Task The_printed_ca_pin_lets_a_new_machine_log_in()
    {
        var cli = new Cli(shared.Path("pin-" + Guid.NewGuid().ToString("N")));
        (await cli.DtshWithInput(SharedGateway.AdminPassword + "\n", "login", "--proxy", shared.Gateway.Proxy, "--user", "admin", "--ca-pin", shared.Gateway.CaPin))
            .Succeeded();
    }

    [Fact]
    public async Task A_new_machine_without_a_pin_is_told_how_to_get_one()
    {
        var cli = new Cli(shared.Path("nopin-" + Guid.NewGuid().ToString("N")));
        (await cli.DtshWithInput("whatever\n", "login", "--proxy", shared.Gateway.Proxy, "--user", "admin")).FailedWith("pass --ca-pin sha256:");
    }

    [Fact]
    public async Task A_deleted_user_is_cut_off_at_once()
    {
        var (name, cli, _) = await shared.NewUserAsync("editor");
        (await cli.Dtctl("users", "ls")).Succeeded();
        (await shared.Admin.Dtctl("users", "rm", name)).Succeeded();
        var reason = $"the user \"{name}\" of your certificate no longer exists";
        (await cli.Dtctl("users", "ls")).FailedWith(reason);
        AuditTrail.IsRefusal(await AuditTrail.LastAsync(_admin, "auth.unauthenticated", e => e.Message == reason), StatusCode.Unauthenticated, reason);
    }
}
