using System.Security.Cryptography.X509Certificates;
using DeviceTrust.Core.Ssh;
using DeviceTrust.Testing;

namespace DeviceTrust.EndToEnd.Tests;

/// <summary>A cluster of its own with a real SSH node, for rotating all three CAs under it.</summary>
public sealed class CaRotationNodeCluster() : SshNodeCluster("dt-e2e-ca-node");

/// <summary>
/// The three CA rotations reach a real node by themselves, through dtnode's heartbeat, with stock sshd and ssh: the
/// node trusts both SSH user CAs while they overlap and only the new one after the finish; it gets a host certificate
/// from the new host CA (which clients trust once they logged in during the rotation); its credential is renewed under
/// the new cluster CA, so the node keeps answering sshd once the old CA is gone.
/// </summary>
public sealed class CaRotationNodeTests(CaRotationNodeCluster cluster) : IClassFixture<CaRotationNodeCluster>
{
    private static readonly TimeSpan AgentCacheTtl = TimeSpan.FromSeconds(1);

    private string NodeFile(string name) => Path.Combine(cluster.NodeData, name);

    [Fact]
    public async Task Every_ca_rotates_under_a_live_node_and_nobody_who_kept_logging_in_is_locked_out()
    {
        var (_, cli, password) = await cluster.NewUserAsync("access");
        LoggedIn(await cluster.SshDirectAsync(cli, "root"));
        var userCas = NodeFile("user-ca.pub");
        var hostCertificate = Directory.GetFiles(cluster.NodeData, "*-cert.pub").Single();

        // SSH user CA. Started: the node trusts both within a heartbeat; the certificate from the old CA still works.
        await RotateAsync("ssh-user", "start");
        await WithinAsync(() => File.ReadAllLines(userCas).Length == 2, "the node trusts both SSH user CAs");
        LoggedIn(await cluster.SshDirectAsync(cli, "root"));
        // Switched: a new login gets a certificate from the new CA; the old certificate still works until the finish.
        var switched = await RotateAsync("ssh-user", "switch");
        // The same person's profile as it was, with the key and certificate from the old CA.
        var before = new Cli(cli.Home + "-before");
        Directory.CreateDirectory(before.Home);
        foreach (var file in Directory.GetFiles(cli.Home))
        {
            File.Copy(file, Path.Combine(before.Home, Path.GetFileName(file)));
        }
        await LogInAsync(cli, password);
        Assert.Equal(Signing(switched), SshCertificate.ParseLine(File.ReadAllText(new Client.Profiles.ProfileStore(cli.Home).SshCertificatePath)).SignatureKey.Fingerprint);
        LoggedIn(await cluster.SshDirectAsync(cli, "root"));
        await Task.Delay(AgentCacheTtl);
        LoggedIn(await cluster.SshDirectAsync(before, "root"));
        // Finished: the node trusts the new CA alone; sshd refuses the old certificate, the new one works.
        await RotateAsync("ssh-user", "finish", "--force");
        await WithinAsync(() => File.ReadAllLines(userCas).Length == 1, "the node trusts the new SSH user CA alone");
        await Task.Delay(AgentCacheTtl);
        Refused(await cluster.SshDirectAsync(before, "root"));
        LoggedIn(await cluster.SshDirectAsync(cli, "root"));

        // SSH host CA. Started: a login trusts both (known_hosts). Switched: the node gets a host certificate from the
        // new CA at its next heartbeat and says to reload sshd; the client that logged in trusts it.
        await RotateAsync("ssh-host", "start");
        await LogInAsync(cli, password);
        Assert.Equal(2, File.ReadAllLines(new Client.Profiles.ProfileStore(cli.Home).KnownHostsPath).Length);
        var hostSwitched = await RotateAsync("ssh-host", "switch");
        await WithinAsync(() => SshCertificate.ParseLine(File.ReadAllText(hostCertificate)).SignatureKey.Fingerprint == Signing(hostSwitched),
            "the node has a host certificate from the new SSH host CA");
        Assert.Contains("host certificate renewed by SSH host CA", cluster.Agent.Output, StringComparison.Ordinal);
        await RenewalAuditedAsync($"host certificate renewed under the current SSH host CA {Signing(hostSwitched)}");
        await cluster.Sshd.RestartAsync();
        LoggedIn(await cluster.SshDirectAsync(cli, "root"));
        await RotateAsync("ssh-host", "finish", "--force");
        await LogInAsync(cli, password);
        Assert.Single(File.ReadAllLines(new Client.Profiles.ProfileStore(cli.Home).KnownHostsPath));
        LoggedIn(await cluster.SshDirectAsync(cli, "root"));

        // Cluster CA. Started: the node trusts both. Switched: its credential is renewed under the new CA (same key).
        // Finished: the node still reaches the gateway with it, so sshd's questions are still answered.
        var credentialKey = Credential().PublicKey.EncodedKeyValue.RawData;
        await RotateAsync("x509", "start");
        await WithinAsync(() => NodeCas() == 2, "the node trusts both cluster CAs");
        // The operator logs in again during the rotation, as everyone does within a certificate lifetime.
        await LogInAsync(cluster.Admin, GatewayCluster.AdminPassword);
        var x509Switched = await RotateAsync("x509", "switch");
        await WithinAsync(() => Core.Certificates.CaPin.Of(NewestCa()) == Signing(x509Switched), "the node lists the new cluster CA first");
        await WithinAsync(() => Core.Certificates.CertificateAuthority.ValidateClientCertificate(NewestCa(), Credential(), DateTimeOffset.UtcNow) is null,
            "the node's credential is from the new cluster CA");
        Assert.Equal(credentialKey, Credential().PublicKey.EncodedKeyValue.RawData);
        await RenewalAuditedAsync($"credential renewed under the current cluster CA {Signing(x509Switched)}");
        await LogInAsync(cluster.Admin, GatewayCluster.AdminPassword); // a certificate from the new CA, before the old one goes
        await RotateAsync("x509", "finish", "--force");
        await WithinAsync(() => NodeCas() == 1, "the node trusts the new cluster CA alone");
        await Task.Delay(AgentCacheTtl);
        LoggedIn(await cluster.SshDirectAsync(cli, "root"));
        Assert.Contains("credential renewed by", cluster.Agent.Output, StringComparison.Ordinal);
    }

    /// <summary>The node's renewal was recorded (node.renew, by the node, about the node).</summary>
    private async Task RenewalAuditedAsync(string what)
    {
        using var auditor = Client.Connection.GatewayChannel.ForProfile(new Client.Profiles.ProfileStore(cluster.Admin.Home).Load()!);
        var renewal = await AuditTrail.LastAsync(auditor, "node.renew", e => e.Message.Contains(what, StringComparison.Ordinal));
        Assert.True(renewal.Success, renewal.ToString());
        Assert.Equal($"node:{SshNodeCluster.NodeName}", renewal.User);
        Assert.Equal($"node/{SshNodeCluster.NodeName}", renewal.Target);
    }

    private X509Certificate2 Credential() => X509CertificateLoader.LoadCertificateFromFile(NodeFile("cert.pem"));

    private int NodeCas()
    {
        var cas = new X509Certificate2Collection();
        cas.ImportFromPemFile(NodeFile("ca.pem"));
        return cas.Count;
    }

    /// <summary>The signing cluster CA, as the node's ca.pem lists it (first).</summary>
    private X509Certificate2 NewestCa()
    {
        var cas = new X509Certificate2Collection();
        cas.ImportFromPemFile(NodeFile("ca.pem"));
        return cas[0];
    }

    /// <summary>One step; returns what dtctl printed ("KIND CA: PHASE; signing X[, also trusted Y]").</summary>
    private async Task<string> RotateAsync(string kind, string step, params string[] more) =>
        (await cluster.Admin.Dtctl(["cluster", "ca", "rotate", kind, step, .. more])).Succeeded().StdOut;

    private static string Signing(string rotated) => rotated.Split("signing ")[1].Split(',', '\n')[0].Trim();

    private async Task LogInAsync(Cli cli, string password) =>
        (await cli.DtshWithInput(password + "\n", "login", "--proxy", cluster.Gateway.Proxy, "--user", new Client.Profiles.ProfileStore(cli.Home).Load()!.User))
        .Succeeded();

    private static async Task WithinAsync(Func<bool> condition, string what)
    {
        var deadline = DateTimeOffset.UtcNow + TimeSpan.FromSeconds(20);
        while (!condition())
        {
            Assert.True(DateTimeOffset.UtcNow < deadline, $"not within 20 s: {what}");
            await Task.Delay(250);
        }
    }

    private static void LoggedIn(ProcessResult result)
    {
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("in-as-root", result.StdOut);
    }

    private static void Refused(ProcessResult result)
    {
        Assert.True(result.ExitCode == 255, result.ToString());
        Assert.Contains("Permission denied (publickey)", result.StdErr);
    }
}
