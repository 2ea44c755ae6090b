using System.Diagnostics;
using DeviceTrust.Client.Connection;
using Grpc.Core;
using Grpc.Net.Client;

namespace DeviceTrust.EndToEnd.Tests;

/// <summary>
/// Device trust in front of a web app: nginx auth_request to the gateway, curl with the certificate from dtsh login.
/// The same sequence as at an SSH node: allowed, a role that requires a trusted device, enrolled, locked, unlocked,
/// unenrolled, each decided live for the certificate the user already holds.
/// </summary>
public sealed class WebAppProxyTests(WebAppProxyCluster cluster) : IClassFixture<WebAppProxyCluster>, IDisposable
{
    private const string App = WebAppProxyCluster.App;
    private static readonly TimeSpan Propagation = TimeSpan.FromSeconds(2.5);
    private readonly GrpcChannel _admin = GatewayChannel.ForProfile(cluster.AdminProfile);

    public void Dispose() => _admin.Dispose();

    private async Task<(int Status, string Body, string Reason)> UntilAsync(string home, int status, TimeSpan limit)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var answer = await cluster.GetAsync(home);
            if (answer.Status == status)
            {
                return answer;
            }
            Assert.True(clock.Elapsed < limit, $"still {answer} after {clock.Elapsed}, expected {status}");
            await Task.Delay(100);
        }
    }

    [Fact]
    public void The_readme_shows_the_nginx_configuration_these_tests_run()
    {
        var readme = File.ReadAllText(Path.Combine(Binaries.RepositoryRoot, "README.md"));
        Assert.Contains("```nginx\n" + WebAppProxyCluster.ExampleConfig + "```\n", readme, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Allowed_then_a_trusted_device_required_then_enrolled_locked_unlocked_and_unenrolled()
    {
        var (bob, cli, password) = await cluster.NewUserAsync("access");
        Assert.Equal((200, $"hello {bob} from the app", ""), await cluster.GetAsync(cli.Home));

        (await cluster.Admin.Dtctl("users", "update", bob, "--set-roles", "require-trusted-device")).Succeeded();
        var untrusted = $"access to app {App} requires a trusted device: enroll this device (dtsh device enroll) and log in again";
        Assert.Equal((403, untrusted, untrusted), await cluster.GetAsync(cli.Home));
        var denied = await AuditTrail.LastAsync(_admin, "access.deny", e => e.User == bob);
        AuditTrail.IsRefusal(denied, StatusCode.PermissionDenied, untrusted);
        Assert.Equal($"app/{App}", denied.Target);

        var serial = "W" + Guid.NewGuid().ToString("N")[..10].ToUpperInvariant();
        var data = cluster.Path($"device-{serial}.json");
        await File.WriteAllTextAsync(data, $$"""{ "serialNumber": "{{serial}}", "osVersion": "12" }""");
        var device = cli.With("DTSH_DEVICE_DATA", data);
        var added = (await cluster.Admin.Dtctl("devices", "add", "--os", "linux", "--asset-tag", serial, "--enroll")).Succeeded().StdOut;
        var token = added.Split('\n').Single(l => l.StartsWith("dtsh device enroll --token=", StringComparison.Ordinal))["dtsh device enroll --token=".Length..].Trim();
        (await device.Dtsh("device", "enroll", "--token=" + token, "--software-key")).Succeeded();
        (await device.DtshWithInput(password + "\n", "login", "--user", bob)).Succeeded();
        Assert.Equal(200, (await cluster.GetAsync(cli.Home)).Status);

        var lockId = (await cluster.Admin.Dtctl("locks", "add", "--asset-tag", serial, "--message", "lost laptop")).Succeeded().StdOut.Split(' ')[1];
        var locked = await UntilAsync(cli.Home, 403, Propagation);
        Assert.Equal($"lock targeting device {serial} is in force: lost laptop", locked.Reason);
        (await cluster.Admin.Dtctl("locks", "rm", lockId)).Succeeded();
        await UntilAsync(cli.Home, 200, Propagation);

        (await cluster.Admin.Dtctl("devices", "unenroll", "--asset-tag", serial)).Succeeded();
        var unenrolled = await UntilAsync(cli.Home, 403, Propagation);
        Assert.Equal($"access to app {App} requires a trusted device: device {serial} is no longer enrolled; enroll it again and log in again", unenrolled.Reason);
    }

    [Fact]
    public async Task Without_a_certificate_or_with_a_copied_one_in_a_header_nobody_gets_through()
    {
        var reason = "no client certificate: present the certificate from dtsh login";
        Assert.Equal((401, reason, reason), await cluster.GetAsync(home: null));
        // A certificate is public; the key is what proves who presents it. Naming someone's certificate in the header
        // nginx uses for the verified one must not stand in for presenting it.
        var (_, bob, _) = await cluster.NewUserAsync("access");
        var copied = Uri.EscapeDataString(await File.ReadAllTextAsync(Path.Combine(bob.Home, "cert.pem")));
        Assert.Equal((401, reason, reason), await cluster.GetAsync(home: null, "-H", $"X-DeviceTrust-Client-Cert: {copied}"));
        Assert.Contains(reason, (await AuditTrail.LastAsync(_admin, "access.deny", e => e.Target == $"app/{App}" && e.Message == reason)).Message);
    }

    [Fact]
    public async Task A_role_that_does_not_reach_the_app_is_refused_with_its_reason()
    {
        var role = "r" + Guid.NewGuid().ToString("N")[..8];
        var file = cluster.Path(role + ".yaml");
        await File.WriteAllTextAsync(file, $"kind: role\nmetadata: {{name: {role}}}\nspec: {{allow: {{app_labels: {{env: staging}}}}}}\n");
        (await cluster.Admin.Dtctl("roles", "create", "-f", file)).Succeeded();
        var (carol, cli, _) = await cluster.NewUserAsync(role);
        var reason = $"access to app {App} is not allowed by any of {carol}'s roles ({role})";
        Assert.Equal((403, reason, reason), await cluster.GetAsync(cli.Home));
    }
}
