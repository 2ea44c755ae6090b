using System.Net;
using System.Security.Cryptography.X509Certificates;
using DeviceTrust.Core.Certificates;
using DeviceTrust.Core.Ssh;

namespace DeviceTrust.Gateway.Hosting;

/// <summary>
/// The cluster CA and the two SSH CAs (users, hosts) with their keys decrypted in this process (certificates are
/// signed where requests are handled), the other CA of each rotation in progress (trusted, never signing), and the
/// gateway's own TLS certificate from the current CA. Empty until <see cref="ClusterBootstrap"/> has loaded them:
/// until then TLS handshakes fail and /readyz says not ready. <see cref="AuthorityWatch"/> loads them again when a
/// rotation takes a step.
/// </summary>
public sealed class ClusterAuthority : IDisposable
{
    private volatile Loaded? _loaded;

    /// <summary>One consistent set, swapped whole: a request sees either the CAs before a rotation step or after it.</summary>
    private sealed record Loaded(
        CertificateAuthority Ca,
        IReadOnlyList<X509Certificate2> TrustedCas,
        SshCertificateAuthority SshUsers,
        IReadOnlyList<SshPublicKey> TrustedSshUsers,
        SshCertificateAuthority SshHosts,
        IReadOnlyList<SshPublicKey> TrustedSshHosts,
        X509Certificate2 ServerCertificate,
        AuthorityGenerations Generations);

    public bool IsReady => _loaded is not null;

    private Loaded Current => _loaded ?? throw new InvalidOperationException("the cluster CAs are not loaded yet");

    /// <summary>The CA that signs now.</summary>
    public CertificateAuthority Ca => Current.Ca;

    /// <summary>Every X.509 CA to trust now, the signing one first (two during a rotation).</summary>
    public IReadOnlyList<X509Certificate2> TrustedCas => Current.TrustedCas;

    /// <summary>Signs user SSH certificates; nodes trust it (<c>TrustedUserCAKeys</c>).</summary>
    public SshCertificateAuthority SshUsers => Current.SshUsers;

    /// <summary>Every SSH user CA nodes should trust now, the signing one first.</summary>
    public IReadOnlyList<SshPublicKey> TrustedSshUsers => Current.TrustedSshUsers;

    /// <summary>Signs node host certificates; clients trust it (<c>@cert-authority</c> in known_hosts).</summary>
    public SshCertificateAuthority SshHosts => Current.SshHosts;

    /// <summary>Every SSH host CA clients should trust now, the signing one first.</summary>
    public IReadOnlyList<SshPublicKey> TrustedSshHosts => Current.TrustedSshHosts;

    public X509Certificate2? ServerCertificate => _loaded?.ServerCertificate;

    /// <summary>What was loaded, so that a watcher knows when to load again (null before the first load).</summary>
    public AuthorityGenerations? Generations => _loaded?.Generations;

    public string ClusterName { get; private set; } = "";

    /// <summary>The SSH user CAs as sshd's TrustedUserCAKeys lines.</summary>
    public IEnumerable<string> SshUserCaLines => TrustedSshUsers.Select(k => k.ToLine($"{ClusterName} user CA"));

    /// <summary>The SSH host CAs as authorized_keys lines, for <c>@cert-authority</c> in known_hosts.</summary>
    public IEnumerable<string> SshHostCaLines => TrustedSshHosts.Select(k => k.ToLine($"{ClusterName} host CA"));

    /// <summary>
    /// Takes a new set (at start, and after every rotation step): the gateway's TLS certificate is issued again only
    /// when the signing CA changed.
    /// </summary>
    internal void Load(LoadedAuthorities loaded, string clusterName, GatewayOptions options, TimeProvider time)
    {
        ClusterName = clusterName;
        var before = _loaded;
        var server = before is not null && before.Ca.Certificate.RawData.AsSpan().SequenceEqual(loaded.Ca.Certificate.RawData)
            ? before.ServerCertificate
            : IssueServerCertificate(loaded.Ca, options, time);
        _loaded = new Loaded(loaded.Ca, [loaded.Ca.Certificate, .. loaded.OtherCas], loaded.SshUsers, [loaded.SshUsers.PublicKey, .. loaded.OtherSshUsers],
            loaded.SshHosts, [loaded.SshHosts.PublicKey, .. loaded.OtherSshHosts], server, loaded.Generations);
        // The replaced objects are left to the collector: a request in flight may still be signing with them.
    }

    private static X509Certificate2 IssueServerCertificate(CertificateAuthority ca, GatewayOptions options, TimeProvider time)
    {
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
        return ca.IssueServerCertificate(names.Distinct(), addresses.Distinct(), time.GetUtcNow(), TimeSpan.FromDays(365));
    }

    public void Dispose()
    {
        if (_loaded is { } loaded)
        {
            loaded.Ca.Dispose();
            loaded.ServerCertificate.Dispose();
            loaded.SshUsers.Dispose();
            loaded.SshHosts.Dispose();
        }
    }
}

/// <summary>The rotation generation of each CA when it was loaded.</summary>
public sealed record AuthorityGenerations(int Ca, int SshUsers, int SshHosts);

/// <summary>The CAs as read from the cluster and decrypted, ready for <see cref="ClusterAuthority.Load"/>.</summary>
internal sealed record LoadedAuthorities(
    CertificateAuthority Ca,
    IReadOnlyList<X509Certificate2> OtherCas,
    SshCertificateAuthority SshUsers,
    IReadOnlyList<SshPublicKey> OtherSshUsers,
    SshCertificateAuthority SshHosts,
    IReadOnlyList<SshPublicKey> OtherSshHosts,
    AuthorityGenerations Generations,
    int UnderPreviousMasterKey);
