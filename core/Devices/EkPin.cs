using System.Security.Cryptography;
using DeviceTrust.Core.Errors;

namespace DeviceTrust.Core.Devices;

/// <summary>
/// An EK recorded in the inventory before the device enrolls: the SHA-256 of its SubjectPublicKeyInfo (DER), what
/// <c>tpm2_readpublic -c 0x81010001 -f der -o ek.der; sha256sum ek.der</c> prints. Written <c>sha256:&lt;64 hex&gt;</c>;
/// stored as the lowercase hex.
/// </summary>
public static class EkPin
{
    public const string Prefix = "sha256:";

    /// <summary>The stored form of <paramref name="text"/> (<c>sha256:</c> and 64 hex digits, or the bare hex); throws otherwise.</summary>
    public static string Parse(string text)
    {
        var hex = text.Trim();
        if (hex.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase))
        {
            hex = hex[Prefix.Length..];
        }
        if (hex.Length != 64 || !hex.All(char.IsAsciiHexDigit))
        {
            throw DeviceTrustException.InvalidArgument(
                $"EK hash \"{(text.Length > 80 ? text[..80] + "…" : text)}\" is not sha256: and 64 hex digits (the SHA-256 of the EK's DER SubjectPublicKeyInfo)");
        }
        return hex.ToLowerInvariant();
    }

    /// <summary>The stored form for an EK's DER SubjectPublicKeyInfo.</summary>
    public static string Of(ReadOnlySpan<byte> subjectPublicKeyInfo) => Convert.ToHexStringLower(SHA256.HashData(subjectPublicKeyInfo));

    public static string Text(string hex) => Prefix + hex;
}
