using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace DeviceTrust.Client.Profiles;

/// <summary>
/// What a login leaves on the machine: which gateway, who, the trusted cluster CA, and the user's key and
/// short-lived certificate. The private key was generated here and never left.
/// </summary>
public sealed class Profile
{
    public required string Proxy { get; init; }
    public required string User { get; init; }
    public required string Cluster { get; init; }
    public required IReadOnlyList<string> Roles { get; init; }
    /// <summary>The cluster CA that signed this login's certificate.</summary>
    public required X509Certificate2 Ca { get; init; }

    /// <summary>During a CA rotation, the other cluster CA the gateway said to trust as well (the next one, or the replaced one).</summary>
    public IReadOnlyList<X509Certificate2> OtherCas { get; init; } = [];

    /// <summary>Every cluster CA this profile trusts the gateway's certificate from.</summary>
    public IReadOnlyList<X509Certificate2> TrustedCas => [Ca, .. OtherCas];
    public required X509Certificate2 Certificate { get; init; }
    public required ECDsa Key { get; init; }

    /// <summary>The OpenSSH user certificate for <see cref="Key"/>, or null when no role allows an SSH login.</summary>
    public Core.Ssh.SshCertificate? SshCertificate { get; init; }

    /// <summary>The cluster's SSH host CA (an authorized_keys line), which dtsh ssh trusts for node host keys.</summary>
    public string SshHostCa { get; init; } = "";

    /// <summary>During an SSH host CA rotation, the other host CA to trust as well (authorized_keys lines).</summary>
    public IReadOnlyList<string> OtherSshHostCas { get; init; } = [];

    /// <summary>The cluster's device trust mode when this profile logged in.</summary>
    public string DeviceTrustMode { get; init; } = "optional";

    /// <summary>Whether the login that made this profile said this user may auto-enroll a device (not stored).</summary>
    public bool AutoEnroll { get; init; }

    public DateTimeOffset ValidUntil => new(Certificate.NotAfter.ToUniversalTime(), TimeSpan.Zero);

    public bool IsExpired(DateTimeOffset now) => now >= ValidUntil;

    /// <summary>The certificate with its private key, for TLS client authentication.</summary>
    public X509Certificate2 CertificateWithKey() => Certificate.CopyWithPrivateKey(Key);
}
