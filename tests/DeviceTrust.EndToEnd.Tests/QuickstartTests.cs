using System.Diagnostics;
using DeviceTrust.Client.Profiles;
using DeviceTrust.Testing;
using Xunit.Abstractions;

namespace DeviceTrust.EndToEnd.Tests;

/// <summary>The README's quickstart, step by step, through the real binaries, including a restart of the cluster.</summary>
public sealed class QuickstartTests(ITestOutputHelper output)
{
    [Fact]
    public async Task The_quickstart_works_and_everything_survives_a_restart()
    {
        using var directory = new TempDirectory("dt-quickstart");
        await using var gateway = new GatewayProcess(directory["data"]);
        var startup = await gateway.StartAsync();
        output.WriteLine($"cold start to ready: {startup.TotalMilliseconds:F0} ms");

        // 1. the first start invites admin, in a file only the owner can read
        Assert.True(await gateway.WaitForOutputAsync("dtsh login --proxy"), "the first start printed no invitation");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(directory["data/admin-invite"]));
        // which the output names but never shows: it is a log wherever the gateway runs as a service
        Assert.Contains($"--invite \"$(cat {directory["data/admin-invite"]})\"", gateway.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(gateway.AdminInvitation, gateway.Output, StringComparison.Ordinal);

        // 2. admin accepts the invitation: a password and a certificate, the key stays in ~/.dtsh with mode 0600
        var admin = new Cli(directory["admin"]);
        var login = (await admin.DtshWithInput("admin password 1234\n", "login", "--proxy", gateway.Proxy, "--invite", gateway.AdminInvitation)).Succeeded();
        Assert.Contains("Logged in as:       admin", login.StdOut);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(directory["admin/key.pem"]));
        // the spent invitation does not stay behind in the data folder
        Assert.False(File.Exists(directory["data/admin-invite"]), "the spent bootstrap invitation is still in the data folder");
        // and the audit log says who made admin: the cluster itself
        Assert.Matches(@"user\.create\s+success\s+\(bootstrap\).*bootstrap user admin created", (await admin.Dtctl("audit", "ls", "--type", "user.create")).Succeeded().StdOut);

        // 3. status, like tsh status
        var status = (await admin.Dtsh("status")).Succeeded().StdOut;
        Assert.Contains($"> Profile URL:        https://{gateway.Proxy}", status);
        Assert.Contains("Roles:              editor, device-admin, auditor", status);
        Assert.Matches(@"Valid until: .* \[valid for 1[12]h\d+m\d+s\]", status);
        Assert.Contains("Extensions:         (none)", status);

        // 4. operators manage users, roles and config with dtctl
        var added = (await admin.Dtctl("users", "add", "bob", "--roles", "access,require-trusted-device")).Succeeded().StdOut;
        var bobInvite = added.Split(' ', '\n').Single(w => w.StartsWith("dtinv1.", StringComparison.Ordinal)).Trim();
        var bob = new Cli(directory["bob"]);
        (await bob.DtshWithInput("bob password 12345\n", "login", "--proxy", gateway.Proxy, "--invite", bobInvite)).Succeeded();
        var users = (await admin.Dtctl("users", "ls")).Succeeded().StdOut;
        Assert.Matches(@"admin\s+human\s+editor,device-admin,auditor\s+active", users);
        Assert.Matches(@"bob\s+human\s+access,require-trusted-device\s+active", users);
        (await admin.Dtctl("users", "update", "bob", "--set-roles", "access")).Succeeded();
        Assert.Contains("Roles:   access", (await admin.Dtctl("users", "get", "bob")).Succeeded().StdOut);
        File.WriteAllText(directory["support.yaml"], "kind: role\nversion: v1\nmetadata:\n  name: support\nspec:\n  allow:\n    rules:\n      user: [list, read]\n");
        (await admin.Dtctl("roles", "create", "-f", directory["support.yaml"])).Succeeded();
        Assert.Contains("user:", (await admin.Dtctl("roles", "get", "support")).Succeeded().StdOut);
        (await admin.Dtctl("config", "set", "device-trust-mode", "required")).Succeeded();

        // 5. stop and start: users, roles, config and the CA are all still there; old certificates still work
        var pin = gateway.CaPin;
        await gateway.StopAsync();
        var restart = await gateway.StartAsync();
        output.WriteLine($"warm restart to ready: {restart.TotalMilliseconds:F0} ms");
        Assert.Equal(pin, gateway.CaPin);
        Assert.DoesNotContain("is invited", gateway.Output[gateway.Output.LastIndexOf("CA pin", StringComparison.Ordinal)..]);
        Assert.False(File.Exists(directory["data/admin-invite"]));
        users = (await admin.Dtctl("users", "ls")).Succeeded().StdOut;
        Assert.Matches(@"bob\s+human\s+access\s+active", users);
        Assert.Contains("support", (await admin.Dtctl("roles", "ls")).Succeeded().StdOut);
        Assert.Contains("mode: required", (await admin.Dtctl("config", "get")).Succeeded().StdOut);

        // and people log in again with their password; the CA is already trusted from the first login
        var timer = Stopwatch.StartNew();
        (await bob.DtshWithInput("bob password 12345\n", "login", "--user", "bob")).Succeeded();
        output.WriteLine($"dtsh login (process start to exit): {timer.ElapsedMilliseconds} ms");
        (await bob.Dtsh("logout")).Succeeded();
        Assert.False(new ProfileStore(bob.Home).Exists);
        (await bob.Dtsh("status")).FailedWith("Not logged in.");
    }
}
