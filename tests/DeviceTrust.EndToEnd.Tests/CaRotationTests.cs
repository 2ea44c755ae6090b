using System.Security.Cryptography.X509Certificates;
using DeviceTrust.Client.Connection;
using DeviceTrust.Client.Profiles;
using DeviceTrust.Testing;
using Grpc.Core;

namespace DeviceTrust.EndToEnd.Tests;

/// <summary>
/// A rotation of the cluster CA as docs/operations.md tells an operator to run it, on a real gateway with real dtsh
/// and dtctl: start (the next CA is published and trusted), switch (it signs, and the gateway's TLS certificate is
/// from it), finish (the old one is dropped). A client that logged in during the rotation never loses the gateway; one
/// that did not is told; steps out of turn and steps by someone who may not are refused, audited, and change nothing.
/// </summary>
public sealed class CaRotationTests
{
    [Fact]
    public async Task The_cluster_ca_rotates_in_three_steps_and_a_client_that_logged_in_meanwhile_never_loses_the_gateway()
    {
        using var directory = new TempDirectory("dt-ca-rotate");
        await using var gateway = new GatewayProcess(directory["data"]);
        await gateway.StartAsync();
        var oldPin = gateway.CaPin;
        var admin = new Cli(directory["admin"]);
        (await admin.DtshWithInput("admin password 1234\n", "login", "--proxy", gateway.Proxy, "--invite", gateway.AdminInvitation)).Succeeded();
        var added = (await admin.Dtctl("users", "add", "mallory", "--roles", "access")).Succeeded();
        var mallory = new Cli(directory["mallory"]);
        (await mallory.DtshWithInput("mallory password 1\n", "login", "--proxy", gateway.Proxy, "--invite",
            added.StdOut.Split(' ', '\n').Single(w => w.StartsWith("dtinv1.", StringComparison.Ordinal)).Trim())).Succeeded();
        // An invitation made before the switch, accepted after it.
        var late = (await admin.Dtctl("users", "add", "late", "--roles", "access")).Succeeded().StdOut
            .Split(' ', '\n').Single(w => w.StartsWith("dtinv1.", StringComparison.Ordinal)).Trim();
        GrpcChannelHolder auditor = new(admin);

        var status = (await admin.Dtctl("cluster", "ca")).Succeeded().StdOut;
        Assert.Matches(@"x509\s+standby\s+-\s+" + oldPin, status);

        // Someone who may not update the cluster configuration: refused, audited, nothing changed.
        const string Denied = "access denied: user \"mallory\" may not update cluster_config (roles: access)";
        (await mallory.Dtctl("cluster", "ca", "rotate", "x509", "start")).FailedWith(Denied);
        AuditTrail.IsRefusal(await AuditTrail.LastAsync(auditor.Channel, "cluster.ca_rotate", e => e.User == "mallory"), StatusCode.PermissionDenied, Denied);
        // A step out of turn: refused with where the rotation stands and what is possible, audited, nothing changed.
        const string NotStarted = "the cluster CA cannot switch: its rotation is not under way; start one first";
        (await admin.Dtctl("cluster", "ca", "rotate", "x509", "switch")).FailedWith(NotStarted);
        AuditTrail.IsRefusal(await AuditTrail.LastAsync(auditor.Channel, "cluster.ca_rotate", e => e is { User: "admin", Success: false }),
            StatusCode.FailedPrecondition, NotStarted);
        Assert.Matches(@"x509\s+standby\s+-\s+" + oldPin, (await admin.Dtctl("cluster", "ca")).Succeeded().StdOut);

        // Start: a next CA is published; the current one still signs (same pin at the gateway), both are trusted.
        var started = (await admin.Dtctl("cluster", "ca", "rotate", "x509", "start")).Succeeded().StdOut;
        Assert.StartsWith($"x509 CA: published; signing {oldPin}, also trusted sha256:", started, StringComparison.Ordinal);
        var newPin = started.Split("also trusted ")[1].Split('\n')[0].Trim();
        Assert.NotEqual(oldPin, newPin);
        (await mallory.Dtsh("ls")).Succeeded();
        Assert.Equal(oldPin, await PresentedByAsync(gateway.Proxy, admin));
        // A login now stores both CAs, the signing one first.
        (await admin.DtshWithInput("admin password 1234\n", "login", "--proxy", gateway.Proxy, "--user", "admin")).Succeeded();
        Assert.Equal([oldPin, newPin], Pins(admin));
        var audited = await AuditTrail.LastAsync(auditor.Channel, "cluster.ca_rotate", e => e is { User: "admin", Success: true });
        Assert.Equal("x509 CA rotation: start (now published)", audited.Message);
        Assert.Equal("ca/x509", audited.Target);

        // Switch: the new CA signs and the gateway presents a certificate from it. The admin (who logged in during the
        // rotation) still reaches it with its certificate from the old CA; mallory (who did not) no longer does.
        var switched = (await admin.Dtctl("cluster", "ca", "rotate", "x509", "switch")).Succeeded().StdOut;
        Assert.StartsWith($"x509 CA: switched; signing {newPin}, also trusted {oldPin}", switched, StringComparison.Ordinal);
        Assert.Equal(newPin, await PresentedByAsync(gateway.Proxy, admin));
        (await admin.Dtctl("users", "ls")).Succeeded();
        (await mallory.Dtsh("ls")).FailedWith("the gateway's TLS certificate is not from a cluster CA you trust. If the cluster's CA was rotated while you were away, log in again with the new pin");
        // The invitation made before the switch names the old CA: the client says what happened instead of a TLS error.
        (await new Cli(directory["late"]).DtshWithInput("late password 1\n", "login", "--proxy", gateway.Proxy, "--invite", late)).FailedWith(
            $"the pin {oldPin} names the other cluster CA of a rotation under way at {gateway.Proxy}, not the one the gateway uses now ({newPin}): "
            + "an invitation or join token made before the rotation switched no longer works, so ask for a new one");
        // The switch survives a restart: the gateway loads both CAs and signs with the new one.
        await gateway.StopAsync();
        await gateway.StartAsync();
        Assert.Equal(newPin, gateway.CaPin);
        (await admin.Dtctl("users", "ls")).Succeeded();

        // Finish: refused until the old CA's user certificates expired (they would stop working), unless forced.
        var early = await admin.Dtctl("cluster", "ca", "rotate", "x509", "finish");
        early.FailedWith("the x509 CA switched at ");
        early.FailedWith("finish then, or now with --force (those certificates stop working at once)");
        Assert.Matches(@"x509\s+switched\s+\S+ \S+\s+" + newPin + @"\s+" + oldPin, (await admin.Dtctl("cluster", "ca")).Succeeded().StdOut);
        // The admin logs in again first, so its own certificate is from the new CA.
        (await admin.DtshWithInput("admin password 1234\n", "login", "--proxy", gateway.Proxy, "--user", "admin")).Succeeded();
        Assert.Equal([newPin, oldPin], Pins(admin));
        auditor.Reopen();
        (await admin.Dtctl("cluster", "ca", "rotate", "x509", "finish", "--force")).Succeeded();
        Assert.Matches(@"x509\s+standby\s+\S+ \S+\s+" + newPin + @"\s+-", (await admin.Dtctl("cluster", "ca")).Succeeded().StdOut);
        // The next login trusts the new CA alone.
        (await admin.DtshWithInput("admin password 1234\n", "login", "--proxy", gateway.Proxy, "--user", "admin")).Succeeded();
        Assert.Equal([newPin], Pins(admin));
        auditor.Reopen();
        var finished = await AuditTrail.LastAsync(auditor.Channel, "cluster.ca_rotate", e => e is { User: "admin", Success: true });
        Assert.Equal("x509 CA rotation: finish (now standby)", finished.Message);
        Assert.Contains("\"force\":true", finished.Details, StringComparison.Ordinal);
        auditor.Dispose();
    }

    private static List<string> Pins(Cli cli)
    {
        var cas = new X509Certificate2Collection();
        cas.ImportFromPemFile(Path.Combine(cli.Home, "ca.pem"));
        return cas.Select(Core.Certificates.CaPin.Of).ToList();
    }

    /// <summary>Which of the profile's CAs (by pin) issued the certificate the gateway presents in a TLS handshake.</summary>
    private static async Task<string> PresentedByAsync(string proxy, Cli cli)
    {
        var cas = new X509Certificate2Collection();
        cas.ImportFromPemFile(Path.Combine(cli.Home, "ca.pem"));
        var address = GatewayAddress.Parse(proxy);
        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(address.Host, address.Port);
        X509Certificate2? presented = null;
        // Accepted here on purpose: which CA it chains to is what is checked below.
#pragma warning disable CA5359
        await using var tls = new System.Net.Security.SslStream(tcp.GetStream(), false, (_, certificate, _, _) =>
        {
            presented = X509CertificateLoader.LoadCertificate(certificate!.GetRawCertData());
            return true;
        });
#pragma warning restore CA5359
        await tls.AuthenticateAsClientAsync(new System.Net.Security.SslClientAuthenticationOptions { TargetHost = "localhost" });
        foreach (var ca in cas)
        {
            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.Add(ca);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            if (chain.Build(presented!))
            {
                return Core.Certificates.CaPin.Of(ca);
            }
        }
        return "none of the profile's CAs";
    }

    /// <summary>An audit channel of the admin's current profile (opened again after each of its logins).</summary>
    private sealed class GrpcChannelHolder(Cli admin) : IDisposable
    {
        public Grpc.Net.Client.GrpcChannel Channel { get; private set; } = GatewayChannel.ForProfile(new ProfileStore(admin.Home).Load()!);

        public void Reopen()
        {
            Channel.Dispose();
            Channel = GatewayChannel.ForProfile(new ProfileStore(admin.Home).Load()!);
        }

        public void Dispose() => Channel.Dispose();
    }
}
