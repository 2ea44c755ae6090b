using System.Globalization;
using DeviceTrust.Core.Certificates;

namespace DeviceTrust.Core.Ssh;

/// <summary>
/// What our SSH certificates say about who holds them, the same facts as the user certificate's X.509 extensions:
/// the user's immutable id and credential generation, and after device authentication the device. Extensions, never
/// critical options (sshd refuses a certificate with a critical option it does not know). sshd ignores ours; the
/// gateway reads them when a node asks whether a certificate may log in.
/// </summary>
public static class SshIdentity
{
    public const string UserIdExtension = "user-id@devicetrust";
    public const string GenerationExtension = "user-generation@devicetrust";
    public const string DeviceIdExtension = "device-id@devicetrust";
    public const string AssetTagExtension = "device-asset-tag@devicetrust";
    public const string CredentialIdExtension = "device-credential-id@devicetrust";

    /// <summary>What an interactive login needs; X11 forwarding and user rc files stay off.</summary>
    private static readonly string[] Permits = ["permit-agent-forwarding", "permit-port-forwarding", "permit-pty"];

    /// <summary>
    /// A user certificate for the key the user logged in with: key id = the user's name, principals = the logins
    /// their roles allow (a role allowing any login gives the principal <c>*</c>, which only a node that asks us
    /// accepts), valid from a little before <paramref name="now"/> to <paramref name="notAfter"/>.
    /// </summary>
    public static SshCertificateRequest UserCertificate(SshPublicKey key, string user, UserIdentity identity, DeviceExtensions? device,
        IEnumerable<string> logins, DateTimeOffset now, DateTimeOffset notAfter)
    {
        var extensions = Permits.Select(p => KeyValuePair.Create(p, (string?)null)).ToList();
        extensions.Add(KeyValuePair.Create(UserIdExtension, (string?)identity.UserId.ToString("D")));
        extensions.Add(KeyValuePair.Create(GenerationExtension, (string?)identity.Generation.ToString(CultureInfo.InvariantCulture)));
        if (device is not null)
        {
            extensions.Add(KeyValuePair.Create(DeviceIdExtension, (string?)device.DeviceId));
            extensions.Add(KeyValuePair.Create(AssetTagExtension, (string?)device.AssetTag));
            extensions.Add(KeyValuePair.Create(CredentialIdExtension, (string?)device.CredentialId));
        }
        var principals = logins.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        return new SshCertificateRequest(key, SshCertificateType.User, user, principals, now - CertificateAuthority.ClockSkewAllowance, notAfter, extensions);
    }

    /// <summary>A host certificate for a node's host key: principals = the names clients reach it by.</summary>
    public static SshCertificateRequest HostCertificate(SshPublicKey hostKey, string nodeName, IEnumerable<string> names, DateTimeOffset now,
        DateTimeOffset notAfter) =>
        new(hostKey, SshCertificateType.Host, nodeName, names.Prepend(nodeName).Distinct(StringComparer.Ordinal).ToList(),
            now - CertificateAuthority.ClockSkewAllowance, notAfter, []);

    /// <summary>The user a certificate names (key id) and its identity extensions, or null when they are missing or malformed.</summary>
    public static (string User, UserIdentity Identity)? ReadUser(SshCertificate certificate)
    {
        if (certificate.Type != SshCertificateType.User
            || !Guid.TryParseExact(certificate.Extension(UserIdExtension), "D", out var id)
            || !long.TryParse(certificate.Extension(GenerationExtension), NumberStyles.None, CultureInfo.InvariantCulture, out var generation))
        {
            return null;
        }
        return (certificate.KeyId, new UserIdentity(id, generation));
    }

    /// <summary>The device a certificate names, or null unless all three device extensions are present and non-empty.</summary>
    public static DeviceExtensions? ReadDevice(SshCertificate certificate) =>
        certificate.Extension(DeviceIdExtension) is { Length: > 0 } id
        && certificate.Extension(AssetTagExtension) is { Length: > 0 } tag
        && certificate.Extension(CredentialIdExtension) is { Length: > 0 } credential
            ? new DeviceExtensions(id, tag, credential)
            : null;
}
