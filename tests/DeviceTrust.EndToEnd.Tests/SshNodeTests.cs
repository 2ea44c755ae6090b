using System.Diagnostics;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using DeviceTrust.Client.Connection;
using DeviceTrust.Client.Profiles;
using DeviceTrust.Core.Ssh;
using DeviceTrust.Proto.V1;
using DeviceTrust.Testing;
using Grpc.Core;
using Grpc.Net.Client;

namespace DeviceTrust.EndToEnd.Tests;

/// <summary>
/// Device trust at a real SSH node: a stock sshd joined with dtnode, the real ssh client run by dtsh ssh. Modes, roles,
/// locks and the device's live state decide, on the node, for certificates issued before the change.
/// </summary>
public sealed class SshNodeTests(SshNodeCluster cluster) : IClassFixture<SshNodeCluster>, IDisposable
{
    private const string Node = SshNodeCluster.NodeName;

    /// <summary>A lock or an unenrollment reaches the node within the cluster's 2 s staleness; one ssh login is allowed on top.</summary>
    /// <summary>How long the node agent reuses an answer (its default, which the fixture runs it with).</summary>
    private static readonly TimeSpan AgentCacheTtl = TimeSpan.FromSeconds(1);

    private static readonly TimeSpan Propagation = TimeSpan.FromSeconds(2) + TimeSpan.FromSeconds(1.5);

    private readonly GrpcChannel _admin = GatewayChannel.ForProfile(cluster.AdminProfile);

    public void Dispose() => _admin.Dispose();

    private Cli AtDevice(Cli cli, string serial)
    {
        var file = cluster.Path($"device-{serial}.json");
        File.WriteAllText(file, $$"""{ "serialNumber": "{{serial}}", "osVersion": "12" }""");
        return cli.With("DTSH_DEVICE_DATA", file);
    }

    private static void LoggedIn(Testing.ProcessResult result)
    {
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("in-as-root", result.StdOut);
    }

    private static void Refused(Testing.ProcessResult result)
    {
        Assert.True(result.ExitCode == 255, result.ToString());
        Assert.Contains("Permission denied (publickey)", result.StdErr);
    }

    /// <summary>Tries the same certificate at the node until it is refused; how long that took.</summary>
    private async Task<TimeSpan> RefusedWithinAsync(Cli cli, TimeSpan limit)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var result = await cluster.SshDirectAsync(cli, "root");
            if (result.ExitCode == 255)
            {
                Refused(result);
                return clock.Elapsed;
            }
            Assert.True(clock.Elapsed < limit, $"the node still let the certificate in after {clock.Elapsed}: {result}");
        }
    }

    private async Task<TimeSpan> AllowedWithinAsync(Cli cli, TimeSpan limit)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var result = await cluster.SshDirectAsync(cli, "root");
            if (result.ExitCode == 0)
            {
                LoggedIn(result);
                return clock.Elapsed;
            }
            Assert.True(clock.Elapsed < limit, $"the node still refused after {clock.Elapsed}: {result}\n{cluster.Agent.Output}");
            await Task.Delay(200);
        }
    }

    [Fact]
    public async Task The_seed_guide_story_runs_end_to_end_with_stock_openssh()
    {
        var (bob, cli, password) = await cluster.NewUserAsync("access");
        Assert.Contains($"Node {Node} joined cluster", cluster.JoinOutput);
        var nodes = (await cli.Dtsh("ls")).Succeeded().StdOut;
        Assert.Matches($@"{Node}\s+127\.0\.0\.1:{cluster.Sshd.Port}\s+env=prod,team=web\s+root", nodes);
        // the agent reports every second here (30 s by default), so the registry has seen it even after a restart
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        Assert.Matches($@"{Node}\s+joined\s+127\.0\.0\.1:{cluster.Sshd.Port}\s+env=prod,team=web\s+\d+s ago", (await cluster.Admin.Dtctl("nodes", "ls")).Succeeded().StdOut);
        Assert.Contains("Logins:             root", (await cli.Dtsh("status")).Succeeded().StdOut);

        // 2. bob, role access: in, with no trust-on-first-use prompt (the host CA is trusted for the node)
        var first = (await cli.Dtsh("ssh", $"root@{Node}", "--", "echo", "in-as-$(whoami)")).Succeeded();
        Assert.Contains("in-as-root", first.StdOut);
        Assert.DoesNotContain("authenticity", first.StdErr);

        // 3. require-trusted-device: refused with the reason, on the next try, with the certificate he already has
        (await cluster.Admin.Dtctl("users", "update", bob, "--set-roles", "require-trusted-device")).Succeeded();
        // The agent reuses an answer for its cache TTL: the login just above was answered "allow" less than that ago.
        await Task.Delay(AgentCacheTtl + TimeSpan.FromMilliseconds(500));
        var reason = $"access to root@{Node} requires a trusted device: enroll this device (dtsh device enroll) and log in again";
        var refused = await cli.Dtsh("ssh", $"root@{Node}", "--", "true");
        Assert.Equal(1, refused.ExitCode);
        Assert.Equal(reason, refused.StdErr.Trim());
        Refused(await cluster.SshDirectAsync(cli, "root"));
        var denied = await AuditTrail.LastAsync(_admin, "access.deny", e => e.User == bob);
        AuditTrail.IsRefusal(denied, StatusCode.PermissionDenied, reason);
        Assert.Equal($"ssh/{Node}", denied.Target);

        // 4. he enrolls this device and logs in again: in
        var serial = "S" + Guid.NewGuid().ToString("N")[..10].ToUpperInvariant();
        var device = AtDevice(cli, serial);
        var added = (await cluster.Admin.Dtctl("devices", "add", "--os", "linux", "--asset-tag", serial, "--enroll")).Succeeded().StdOut;
        var token = added.Split('\n').Single(l => l.StartsWith("dtsh device enroll --token=", StringComparison.Ordinal))["dtsh device enroll --token=".Length..].Trim();
        (await device.Dtsh("device", "enroll", "--token=" + token, "--software-key")).Succeeded();
        (await device.DtshWithInput(password + "\n", "login", "--user", bob)).Succeeded();
        LoggedIn(await device.Dtsh("ssh", $"root@{Node}", "--", "echo", "in-as-$(whoami)"));
        Assert.Equal(serial, SshIdentity.ReadDevice(new ProfileStore(cli.Home).Load()!.SshCertificate!)!.AssetTag);

        // 5. his device is locked: the certificate he holds stops working at the node within seconds; unlocked, back in
        var lockId = (await cluster.Admin.Dtctl("locks", "add", "--asset-tag", serial, "--message", "lost laptop")).Succeeded().StdOut.Split(' ')[1];
        await RefusedWithinAsync(device, Propagation);
        (await device.Dtsh("ssh", $"root@{Node}", "--", "true")).FailedWith($"lock targeting device {serial} is in force: lost laptop");
        (await cluster.Admin.Dtctl("locks", "rm", lockId)).Succeeded();
        await AllowedWithinAsync(device, Propagation);

        // unenrolling has the same live effect on the certificate issued before it
        (await cluster.Admin.Dtctl("devices", "unenroll", "--asset-tag", serial)).Succeeded();
        await RefusedWithinAsync(device, Propagation);
        (await device.Dtsh("ssh", $"root@{Node}", "--", "true"))
            .FailedWith($"access to root@{Node} requires a trusted device: device {serial} is no longer enrolled; enroll it again and log in again");
        Assert.Contains($"denied root for {bob}", cluster.Agent.Output);
    }

    [Fact]
    public async Task With_the_cluster_stopped_the_node_lets_nobody_in()
    {
        var (_, cli, _) = await cluster.NewUserAsync("access");
        LoggedIn(await cluster.SshDirectAsync(cli, "root"));
        await cluster.Gateway.StopAsync();
        try
        {
            // The agent reuses an answer for its cache TTL (1 s, `dtnode serve --cache-ttl`): the login above was
            // allowed, and a gateway that stops within that second would still be answered from it.
            await Task.Delay(AgentCacheTtl + TimeSpan.FromMilliseconds(500));
            Refused(await cluster.SshDirectAsync(cli, "root"));
            // what sshd logged from the principals command
            Assert.Contains("dtnode: root denied: the cluster did not answer (Unavailable)", cluster.Sshd.Log);
        }
        finally
        {
            await cluster.Gateway.StartAsync();
        }
        await AllowedWithinAsync(cli, TimeSpan.FromSeconds(20));
    }

    [Fact]
    public async Task A_certificate_from_another_ca_is_refused_by_sshd_and_by_the_cluster()
    {
        var (alice, cli, _) = await cluster.NewUserAsync("access");
        var real = new ProfileStore(cli.Home).Load()!.SshCertificate!;
        using var otherCa = SshCertificateAuthority.Create();
        var forged = otherCa.Issue(new SshCertificateRequest(real.Key, SshCertificateType.User, real.KeyId, real.Principals, DateTimeOffset.UtcNow.AddMinutes(-1),
            DateTimeOffset.UtcNow.AddHours(1), real.Extensions));
        var file = cluster.Path("forged-cert.pub");
        await File.WriteAllTextAsync(file, forged.ToLine() + "\n");
        Refused(await cluster.SshDirectAsync(cli, "root", file));

        // asked directly (as sshd's command would be), the cluster checks the signature itself
        var answer = await AskAgentAsync($"authorize\troot\t{forged.CertificateType}\t{Convert.ToBase64String(forged.Blob)}\n");
        var reason = "the certificate was not issued by this cluster's SSH user CA";
        Assert.Equal($"deny\t{reason}\n", answer);
        var denied = await AuditTrail.LastAsync(_admin, "access.deny", e => e.User == alice && e.Message == reason);
        AuditTrail.IsRefusal(denied, StatusCode.PermissionDenied, reason);
        Assert.Equal("deny\tmalformed question: expected authorize, login, certificate type and certificate\n", await AskAgentAsync("hello\n"));
        Assert.StartsWith("deny\tmalformed question: the certificate", await AskAgentAsync($"authorize\troot\t{forged.CertificateType}\tAAAA\n"));
    }

    [Fact]
    public async Task Only_sshds_principals_user_and_root_may_ask_the_agent()
    {
        var (_, cli, _) = await cluster.NewUserAsync("access");
        var certificate = new ProfileStore(cli.Home).Load()!.SshCertificate!;
        string[] ask = ["authorize-principals", "--socket", cluster.Socket, "root", certificate.CertificateType, Convert.ToBase64String(certificate.Blob)];
        // what sshd runs, as its AuthorizedPrincipalsCommandUser (nobody)
        var allowed = await ProcessRunner.RunAsync("runuser", ["-u", "nobody", "--", cluster.Dtnode.Executable, .. ask]);
        Assert.True(allowed.ExitCode == 0, allowed.ToString());
        Assert.Equal("root\n", allowed.StdOut);
        // another local account (daemon, uid 1) gets nothing: the agent checks the peer's uid (SO_PEERCRED)
        var other = await ProcessRunner.RunAsync("runuser", ["-u", "daemon", "--", cluster.Dtnode.Executable, .. ask]);
        Assert.Equal("", other.StdOut);
        Assert.Contains("dtnode: root denied: the node agent did not answer", other.StdErr);
        Assert.Contains("refused a connection from uid 1: only root and nobody may ask", cluster.Agent.Output);
    }

    [Fact]
    public async Task Under_required_for_humans_a_bot_gets_in_without_a_device_and_a_human_does_not()
    {
        var (_, human, _) = await cluster.NewUserAsync("access");
        var bot = "bot" + Guid.NewGuid().ToString("N")[..8];
        var invite = (await cluster.Admin.Dtctl("users", "add", bot, "--roles", "access", "--kind", "bot")).Succeeded().StdOut
            .Split(' ', '\n').Single(w => w.StartsWith("dtinv1.", StringComparison.Ordinal)).Trim();
        var botCli = new Cli(cluster.Path(bot + "-home"));
        (await botCli.DtshWithInput("password of " + bot + "\n", "login", "--proxy", cluster.Gateway.Proxy, "--invite", invite)).Succeeded();
        (await cluster.Admin.Dtctl("config", "set", "device-trust-mode", "required-for-humans")).Succeeded();
        try
        {
            LoggedIn(await botCli.Dtsh("ssh", $"root@{Node}", "--", "echo", "in-as-$(whoami)"));
            (await human.Dtsh("ssh", $"root@{Node}", "--", "true"))
                .FailedWith($"access to root@{Node} requires a trusted device: enroll this device (dtsh device enroll) and log in again");
            Refused(await cluster.SshDirectAsync(human, "root"));
        }
        finally
        {
            (await cluster.Admin.Dtctl("config", "set", "device-trust-mode", "optional")).Succeeded();
        }
    }

    [Fact]
    public async Task A_node_joins_once_its_credential_can_only_speak_for_the_node_and_stops_when_the_node_is_removed()
    {
        var name = "web-" + Guid.NewGuid().ToString("N")[..6];
        var token = SshNodeCluster.TokenFrom((await cluster.Admin.Dtctl("nodes", "add", name, "--labels", "env=test")).Succeeded().StdOut);
        var data = cluster.Path(name);
        var dropIns = cluster.Path(name + "-sshd.d");
        var socket = cluster.Path(name + ".sock");

        // a dry run writes nothing and leaves the token usable
        var dry = (await cluster.JoinAsync(token, data, dropIns, socket, "--dry-run")).Succeeded().StdOut;
        Assert.Contains($"AuthorizedPrincipalsCommand {cluster.Dtnode.Executable} authorize-principals --socket {socket} %u %t %k", dry);
        Assert.Contains("AuthorizedPrincipalsCommandUser nobody", dry);
        Assert.False(Directory.Exists(data) || Directory.Exists(dropIns));
        (await cluster.JoinAsync(token, data, dropIns, socket)).Succeeded();
        Assert.Contains($"TrustedUserCAKeys {data}/user-ca.pub", await File.ReadAllTextAsync(Path.Combine(dropIns, "50-devicetrust.conf")));
        var joined = await AuditTrail.LastAsync(_admin, "node.join", e => e.Target == $"node/{name}");
        Assert.True(joined.Success, joined.ToString());

        // the token works once
        var again = await cluster.JoinAsync(token, cluster.Path(name + "-again"), dropIns, socket);
        var spent = "invalid join token: already used (a node joins once: dtctl nodes rm, then dtctl nodes add again)";
        Assert.Contains(spent, again.StdErr);
        AuditTrail.IsRefusal(await AuditTrail.LastAsync(_admin, "node.join", e => e.Target == $"node/{name}" && !e.Success), StatusCode.PermissionDenied, spent);

        // the host certificate names the node, from the host CA
        var hostCertificate = SshCertificate.ParseLine(await File.ReadAllTextAsync(Path.Combine(data, "ssh_host_ed25519_key-cert.pub")));
        Assert.Equal(SshCertificateType.Host, hostCertificate.Type);
        Assert.Contains(name, hostCertificate.Principals);

        // the node's credential: heartbeats and access questions only
        using var credential = NodeCredential(data);
        using var channel = GatewayChannel.Create(cluster.Gateway.Proxy, cluster.AdminProfile.Ca, credential);
        await new NodeService.NodeServiceClient(channel).HeartbeatAsync(new HeartbeatRequest());
        Refusals.Is(StatusCode.Unauthenticated, "this is an SSH node's credential: it may only report that the node is alive and ask about access to it",
            await Refusals.Of(async () => await new AuthService.AuthServiceClient(channel).WhoAmIAsync(new WhoAmIRequest())));
        Refusals.Is(StatusCode.Unauthenticated, "this is an SSH node's credential: it may only report that the node is alive and ask about access to it",
            await Refusals.Of(async () => await new NodeService.NodeServiceClient(channel).ListNodesAsync(new ListNodesRequest())));
        // and a user's certificate cannot ask in a node's name
        Refusals.Is(StatusCode.Unauthenticated, "this call is for SSH nodes: a user certificate may not make it",
            await Refusals.Of(async () => await new NodeService.NodeServiceClient(_admin).AuthorizeSshAsync(new AuthorizeSshRequest { Login = "root" })));

        // removed: its credential stops working at once
        Assert.Contains($"Node {name} removed", (await cluster.Admin.Dtctl("nodes", "rm", name)).Succeeded().StdOut);
        Refusals.Is(StatusCode.Unauthenticated, "the node of this credential is no longer registered: join it again (dtctl nodes add, dtnode join)",
            await Refusals.Of(async () => await new NodeService.NodeServiceClient(channel).HeartbeatAsync(new HeartbeatRequest())));
        Assert.DoesNotContain(name, (await cluster.Admin.Dtctl("nodes", "ls")).Succeeded().StdOut);
        Assert.True((await AuditTrail.LastAsync(_admin, "node.delete", e => e.Target == $"node/{name}")).Success);
    }

    private static X509Certificate2 NodeCredential(string data)
    {
        using var key = System.Security.Cryptography.ECDsa.Create();
        key.ImportFromPem(File.ReadAllText(Path.Combine(data, "key.pem")));
        using var certificate = X509CertificateLoader.LoadCertificateFromFile(Path.Combine(data, "cert.pem"));
        return certificate.CopyWithPrivateKey(key);
    }

    private async Task<string> AskAgentAsync(string question)
    {
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(cluster.Socket));
        await socket.SendAsync(Encoding.UTF8.GetBytes(question), SocketFlags.None);
        var buffer = new byte[4096];
        var read = await socket.ReceiveAsync(buffer, SocketFlags.None);
        return Encoding.UTF8.GetString(buffer, 0, read);
    }
}
