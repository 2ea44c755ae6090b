using System.Security.Cryptography.X509Certificates;
using DeviceTrust.Client.Profiles;
using DeviceTrust.Testing;
using Grpc.Core;

namespace DeviceTrust.EndToEnd.Tests;

[Collection(SharedGatewayCollection.Name)]
public sealed class LoginFailureTests(SharedGateway shared)
{
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
    }

    [Fact]
    public async Task A_reused_invitation_is_refused()
    {
        var added = (await shared.Admin.Dtctl("users", "add", "carol" + Guid.NewGuid().ToString("N")[..6], "--roles", "access")).Succeeded();
        var token = added.StdOut.Split(' ', '\n').Single(w => w.StartsWith("dtinv1.", StringComparison.Ordinal)).Trim();
        var first = new Cli(shared.Path("carol-1-" + Guid.NewGuid().ToString("N")));
        (await first.DtshWithInput("carol password 123\n", "login", "--proxy", shared.Gateway.Proxy, "--invite", token)).Succeeded();
        var second = new Cli(shared.Path("carol-2-" + Guid.NewGuid().ToString("N")));
        (await second.DtshWithInput("other password 123\n", "login", "--proxy", shared.Gateway.Proxy, "--invite", token))
            .FailedWith("the invitation has already been used");
    }

    [Fact]
    public async Task A_short_password_leaves_the_invitation_usable()
    {
        var added = (await shared.Admin.Dtctl("users", "add", "dave" + Guid.NewGuid().ToString("N")[..6], "--roles", "access")).Succeeded();
        var token = added.StdOut.Split(' ', '\n').Single(w => w.StartsWith("dtinv1.", StringComparison.Ordinal)).Trim();
        var cli = new Cli(shared.Path("dave-" + Guid.NewGuid().ToString("N")));
        (await cli.DtshWithInput("short\n", "login", "--proxy", shared.Gateway.Proxy, "--invite", token)).FailedWith("the password is too short");
        (await cli.DtshWithInput("long enough password\n", "login", "--proxy", shared.Gateway.Proxy, "--invite", token)).Succeeded();
    }

    [Fact]
    public async Task An_expired_certificate_is_refused_by_the_client_and_by_the_gateway()
    {
        var (name, cli, password) = await shared.NewUserAsync("editor");
        (await cli.DtshWithInput(password + "\n", "login", "--user", name, "--ttl", "2s")).Succeeded();
        await Task.Delay(TimeSpan.FromSeconds(3));
        (await cli.Dtctl("users", "ls")).FailedWith("your certificate expired");
        var profile = new ProfileStore(cli.Home).Load()!;
        Assert.NotEqual(StatusCode.OK, await DirectClient.WhoAmIStatusAsync(shared.Gateway.Proxy, Ca, profile.CertificateWithKey()));
        Assert.True(await shared.Gateway.WaitForOutputAsync("NotTimeValid"), "the gateway did not log why it refused the certificate");
    }

    [Fact]
    public async Task A_certificate_from_a_foreign_ca_is_refused()
    {
        using var foreign = DirectClient.ForeignCertificate("admin");
        Assert.NotEqual(StatusCode.OK, await DirectClient.WhoAmIStatusAsync(shared.Gateway.Proxy, Ca, foreign));
        Assert.True(await shared.Gateway.WaitForOutputAsync("PartialChain"), "the gateway did not log the rejection");
    }

    [Fact]
    public async Task Calls_without_a_certificate_are_unauthenticated() =>
        Assert.Equal(StatusCode.Unauthenticated, await DirectClient.WhoAmIStatusAsync(shared.Gateway.Proxy, Ca, null));

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
        (await cli.Dtctl("users", "ls")).FailedWith($"the user \"{name}\" of your certificate no longer exists");
    }
}
