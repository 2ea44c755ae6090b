using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using DeviceTrust.Client.Connection;
using DeviceTrust.Core.Secrets;
using DeviceTrust.Core.Ssh;
using DeviceTrust.Proto.V1;
using Grpc.Net.Client;

namespace DeviceTrust.Cli.Dtnode;

/// <summary>
/// The node's trust anchors and credentials on disk, kept up to date from the cluster's answers so that a CA rotation
/// reaches the node by itself: ca.pem (every cluster CA, the signing one first), user-ca.pub (every SSH user CA, which
/// sshd reads at each login), cert.pem (the credential, renewed under a new CA after a switch) and the host certificate.
/// </summary>
public sealed class NodeTrustFiles(string dataDir, NodeConfig config)
{
    /// <summary>The most CAs of one kind a node takes from an answer (one, two during a rotation).</summary>
    private const int MaxCas = 4;

    public string CaPath => Path.Combine(dataDir, NodeConfig.CaFile);

    public string UserCaPath => Path.Combine(dataDir, NodeConfig.UserCaFile);

    public string CertificatePath => Path.Combine(dataDir, NodeConfig.CertificateFile);

    /// <summary>A channel with the node's credential, trusting every CA of ca.pem.</summary>
    public GrpcChannel OpenChannel()
    {
        var cas = new X509Certificate2Collection();
        cas.ImportFromPemFile(CaPath);
        using var key = ECDsa.Create();
        key.ImportFromPem(File.ReadAllText(Path.Combine(dataDir, NodeConfig.KeyFile)));
        using var certificate = X509CertificateLoader.LoadCertificateFromFile(CertificatePath);
        return GatewayChannel.Create(config.Proxy, cas.ToList(), certificate.CopyWithPrivateKey(key));
    }

    /// <summary>What a heartbeat says about this node's host certificate: its host key, and the CA that signed it.</summary>
    public HeartbeatRequest HeartbeatRequest()
    {
        var request = new HeartbeatRequest();
        try
        {
            var host = SshCertificate.ParseLine(File.ReadAllText(config.HostCertificate));
            request.SshHostKey = host.Key.ToLine();
            request.SshHostCa = host.SignatureKey.Fingerprint;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or SshFormatException or FormatException)
        {
            // Without a readable host certificate there is nothing to renew; the heartbeat still reports presence.
        }
        return request;
    }

    /// <summary>
    /// Writes what changed: the trust files at once, a renewed credential or host certificate once checked to be for
    /// this node's keys. Returns what it did (for the log), and whether the channel must be opened again.
    /// </summary>
    public (List<string> Changes, bool Reconnect) Apply(HeartbeatResponse response)
    {
        var changes = new List<string>();
        var reconnect = false;
        if (response.Trust is { } trust)
        {
            if (trust.CaCertificatesDer.Count is > 0 and <= MaxCas)
            {
                var pem = string.Concat(trust.CaCertificatesDer.Select(der =>
                {
                    using var ca = X509CertificateLoader.LoadCertificate(der.Span);
                    return ca.ExportCertificatePem() + "\n";
                }));
                if (ReadOrEmpty(CaPath) != pem)
                {
                    SecureFile.WriteAllText(CaPath, pem);
                    changes.Add($"trusts {trust.CaCertificatesDer.Count} cluster CA(s) now");
                    reconnect = true;
                }
            }
            if (trust.SshUserCas.Count is > 0 and <= MaxCas)
            {
                var lines = string.Concat(trust.SshUserCas.Select(line => SshPublicKey.ParseLine(line).ToLine($"{config.ClusterName} user CA") + "\n"));
                if (ReadOrEmpty(UserCaPath) != lines)
                {
                    SshdConfig.WritePublic(UserCaPath, lines);
                    changes.Add($"sshd trusts {trust.SshUserCas.Count} SSH user CA(s) now");
                }
            }
        }
        if (!response.RenewedCertificateDer.IsEmpty)
        {
            using var renewed = X509CertificateLoader.LoadCertificate(response.RenewedCertificateDer.Span);
            using var key = ECDsa.Create();
            key.ImportFromPem(File.ReadAllText(Path.Combine(dataDir, NodeConfig.KeyFile)));
            using var renewedKey = renewed.GetECDsaPublicKey();
            if (renewedKey is null || !renewedKey.ExportSubjectPublicKeyInfo().AsSpan().SequenceEqual(key.ExportSubjectPublicKeyInfo()))
            {
                throw new InvalidDataException("the gateway renewed the credential for a key that is not this node's");
            }
            SecureFile.WriteAllText(CertificatePath, renewed.ExportCertificatePem() + "\n");
            changes.Add($"credential renewed by {renewed.Issuer}, valid until {renewed.NotAfter.ToUniversalTime():u}");
            reconnect = true;
        }
        if (!response.RenewedSshHostCertificate.IsEmpty)
        {
            var host = SshCertificate.Parse(response.RenewedSshHostCertificate.Span);
            var hostKey = SshPublicKey.ParseLine(File.ReadAllText(config.HostKey));
            if (host.Type != SshCertificateType.Host || !host.Key.Equals(hostKey))
            {
                throw new InvalidDataException("the gateway renewed a host certificate that is not for this node's host key");
            }
            SshdConfig.WritePublic(config.HostCertificate, host.ToLine($"{config.NodeName}@{config.ClusterName}") + "\n");
            changes.Add($"host certificate renewed by SSH host CA {host.SignatureKey.Fingerprint}: reload sshd (systemctl reload ssh) to present it");
        }
        return (changes, reconnect);
    }

    private static string ReadOrEmpty(string path) => File.Exists(path) ? File.ReadAllText(path) : "";
}
