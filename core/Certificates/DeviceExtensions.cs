using System.Formats.Asn1;
using System.Security.Cryptography.X509Certificates;

namespace DeviceTrust.Core.Certificates;

/// <summary>
/// The device identity a certificate carries after device authentication: three non-critical X.509
/// extensions under our arc, each a DER UTF8String. A certificate is device-verified only when all
/// three are present and valid.
/// </summary>
public sealed record DeviceExtensions(string DeviceId, string AssetTag, string CredentialId)
{
    public const string Arc = "2.25.77000632611525456506447936019102415480";
    public const string DeviceIdOid = Arc + ".1";
    public const string AssetTagOid = Arc + ".2";
    public const string CredentialIdOid = Arc + ".3";

    public IEnumerable<X509Extension> ToX509() =>
    [
        Utf8Extension(DeviceIdOid, DeviceId),
        Utf8Extension(AssetTagOid, AssetTag),
        Utf8Extension(CredentialIdOid, CredentialId),
    ];

    private static readonly string[] DeviceOids = [DeviceIdOid, AssetTagOid, CredentialIdOid];

    /// <summary>True when the certificate carries any of the three extensions (complete or not).</summary>
    public static bool AnyPresent(X509Certificate2 cert) =>
        cert.Extensions[DeviceIdOid] is not null || cert.Extensions[AssetTagOid] is not null || cert.Extensions[CredentialIdOid] is not null;

    /// <summary>The device identity, or null unless all three extensions are present and well-formed.</summary>
    public static DeviceExtensions? Read(X509Certificate2 cert)
    {
        var id = ReadUtf8(cert, DeviceIdOid);
        var tag = ReadUtf8(cert, AssetTagOid);
        var cred = ReadUtf8(cert, CredentialIdOid);
        return id is { Length: > 0 } && tag is { Length: > 0 } && cred is { Length: > 0 } ? new DeviceExtensions(id, tag, cred) : null;
    }

    /// <summary>The device extensions a certificate carries, by name, as text (for <c>dtsh status</c>).</summary>
    public static IReadOnlyList<KeyValuePair<string, string>> ListOurs(X509Certificate2 cert) =>
        cert.Extensions
            .Where(e => DeviceOids.Contains(e.Oid?.Value))
            .Select(e => KeyValuePair.Create(NameOf(e.Oid!.Value!), ReadUtf8(cert, e.Oid!.Value!) ?? "(malformed)"))
            .ToList();

    private static string NameOf(string oid) => oid switch
    {
        DeviceIdOid => "device-id",
        AssetTagOid => "device-asset-tag",
        CredentialIdOid => "device-credential-id",
        _ => oid,
    };

    private static X509Extension Utf8Extension(string oid, string value)
    {
        var writer = new AsnWriter(AsnEncodingRules.DER);
        writer.WriteCharacterString(UniversalTagNumber.UTF8String, value);
        return new X509Extension(oid, writer.Encode(), critical: false);
    }

    private static string? ReadUtf8(X509Certificate2 cert, string oid) => UserIdentity.ReadUtf8(cert, oid);
}
