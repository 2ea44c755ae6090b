using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using DeviceTrust.Core.Errors;

namespace DeviceTrust.Core.Certificates;

/// <summary>
/// "sha256:&lt;hex&gt;" of a CA's SubjectPublicKeyInfo, the same form as kubeadm's discovery hash: it pins the key,
/// so it survives re-issuing the CA certificate for the same key. Equal to
/// <c>openssl x509 -pubkey -noout | openssl pkey -pubin -outform DER | sha256sum</c>.
/// </summary>
public static class CaPin
{
    private const string Prefix = "sha256:";

    public static string Of(X509Certificate2 ca) =>
        Prefix + Convert.ToHexStringLower(SHA256.HashData(ca.PublicKey.ExportSubjectPublicKeyInfo()));

    /// <summary>Parses a pin and returns its 32 digest bytes; a bare hex digest is accepted too.</summary>
    public static byte[] Parse(string pin)
    {
        var hex = pin.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase) ? pin[Prefix.Length..] : pin;
        if (hex.Length != 64 || !hex.All(char.IsAsciiHexDigit))
        {
            throw DeviceTrustException.InvalidArgument("a CA pin is \"sha256:\" followed by 64 hex digits");
        }
        return Convert.FromHexString(hex);
    }

    /// <summary>Constant-time check that <paramref name="ca"/> is the pinned CA.</summary>
    public static bool Matches(X509Certificate2 ca, string pin) =>
        CryptographicOperations.FixedTimeEquals(SHA256.HashData(ca.PublicKey.ExportSubjectPublicKeyInfo()), Parse(pin));
}
