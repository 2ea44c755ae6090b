using System.Net;
using System.Security.Cryptography.X509Certificates;
using DeviceTrust.Core.Certificates;
using DeviceTrust.Core.Ssh;

namespace DeviceTrust.Gateway.Hosting;

/// <summary>
/// The cluster CA and the two SSH CAs (users, hosts) with their keys decrypted in this process (certificates are
/// signed where requests are handled), and the gateway's own TLS certificate. Empty until <see cref="ClusterBootstrap"/> has loaded them: until then
/// TLS handshakes fail and /readyz says not ready.
/// </summary>
public sealed class ClusterAuthority : IDisposable
{
    private volatile CertificateAuthority? _ca;
    private volatile X509Certificate2? _serverCertificate;
    private volatile SshCertificateAuthority? _sshUsers;
    private volatile SshCertificateAuthority? _sshHosts;

    public bool IsReady => _ca is not null && _serverCertificate is not null;

    public CertificateAuthority Ca => _ca ?? throw new InvalidOperationException("the cluster CA is not loaded yet");

    /// <summary>Signs user SSH certificates; nodes trust it (<c>TrustedUserCAKeys</c>).</summary>
    public SshCertificateAuthority SshUsers => _sshUsers ?? throw new InvalidOperationException("the SSH user CA is not loaded yet");

    /// <summary>Signs node host certificates; clients trust it (<c>@cert-authority</c> in known_hosts).</summary>
    public SshCertificateAuthority SshHosts => _sshHosts ?? throw new InvalidOperationException("the SSH host CA is not loaded yet");

    public X509Certificate2? ServerCertificate => _serverCertificate;

    public string ClusterName { get; private set; } = "";

    internal void Load(CertificateAuthority ca, SshCertificateAuthority sshUsers, SshCertificateAuthority sshHosts, string clusterName,
        GatewayOptions options, TimeProvider time)
    {
        _sshUsers = sshUsers;
        _sshHosts = sshHosts;
        ClusterName = clusterName;
        var listen = options.ListenEndPoint.Address;
        var addresses = new List<IPAddress> { IPAddress.Loopback, IPAddress.IPv6Loopback };
        var names = new List<string> { "localhost", CertificateAuthority.AnyGatewayName };
        if (!listen.Equals(IPAddress.Any) && !listen.Equals(IPAddress.IPv6Any))
        {
            addresses.Add(listen);
        }
        foreach (var address in options.PublicAddresses)
        {
            if (IPAddress.TryParse(address, out var ip))
            {
                addresses.Add(ip);
            }
            else
            {
                names.Add(address);
            }
        }
        _serverCertificate = ca.IssueServerCertificate(names.Distinct(), addresses.Distinct(), time.GetUtcNow(), TimeSpan.FromDays(365));
        _ca = ca;
    }

    public void Dispose()
    {
        _ca?.Dispose();
        _serverCertificate?.Dispose();
        _sshUsers?.Dispose();
        _sshHosts?.Dispose();
    }
}
