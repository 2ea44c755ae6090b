using System.Formats.Asn1;
using System.Globalization;
using System.Security.Cryptography.X509Certificates;

namespace DeviceTrust.Core.Certificates;

/// <summary>
/// Who a user certificate was issued to, beyond the name in its subject: the user's immutable id (random, made when
/// the user is created) and the credential generation (raised when an administrator resets the user). Two
/// non-critical extensions under our arc, each a DER UTF8String. The gateway compares both with the live user on
/// every call, so a certificate does not outlive its user, a re-created user of the same name, or a reset.
/// </summary>
public sealed record UserIdentity(Guid UserId, long Generation)
{
    public const string UserIdOid = DeviceExtensions.Arc + ".4";
    public const string GenerationOid = DeviceExtensions.Arc + ".5";

    public IEnumerable<X509Extension> ToX509() =>
    [
        Utf8(UserIdOid, UserId.ToString("D")),
        Utf8(GenerationOid, Generation.ToString(CultureInfo.InvariantCulture)),
    ];

    /// <summary>The identity, or null unless both extensions are present and well-formed.</summary>
    public static UserIdentity? Read(X509Certificate2 certificate)
    {
        var id = ReadUtf8(certificate, UserIdOid);
        var generation = ReadUtf8(certificate, GenerationOid);
        return Guid.TryParseExact(id, "D", out var userId)
               && long.TryParse(generation, NumberStyles.None, CultureInfo.InvariantCulture, out var number)
            ? new UserIdentity(userId, number)
            : null;
    }

    private static X509Extension Utf8(string oid, string value)
    {
        var writer = new AsnWriter(AsnEncodingRules.DER);
        writer.WriteCharacterString(UniversalTagNumber.UTF8String, value);
        return new X509Extension(oid, writer.Encode(), critical: false);
    }

    internal static string? ReadUtf8(X509Certificate2 certificate, string oid)
    {
        if (certificate.Extensions[oid] is not { } extension)
        {
            return null;
        }
        try
        {
            var value = AsnDecoder.ReadCharacterString(extension.RawData, AsnEncodingRules.DER, UniversalTagNumber.UTF8String, out var used);
            return used == extension.RawData.Length ? value : null;
        }
        catch (AsnContentException)
        {
            return null;
        }
    }
}
