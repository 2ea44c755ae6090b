using System.Security.Cryptography;
using System.Text;

namespace DeviceTrust.Core.Secrets;

/// <summary>
/// Bearer secrets (invitations, enrollment tokens): 32 bytes from the CSPRNG, base64url. Only their SHA-256
/// is ever stored: with 256 bits of entropy a fast hash is enough (nothing to brute-force), and the hash
/// can serve as a lookup key. See docs/decisions/0003-token-hashing.md.
/// </summary>
public static class SecretToken
{
    public const int Bytes = 32;

    /// <summary>Length of the base64url text of <see cref="Bytes"/> random bytes.</summary>
    public const int TextLength = 43;

    public static string New() => Base64Url.Encode(RandomNumberGenerator.GetBytes(Bytes));

    public static byte[] Hash(string token) => SHA256.HashData(Encoding.UTF8.GetBytes(token));

    public static string HashHex(string token) => Convert.ToHexStringLower(Hash(token));

    /// <summary>Shape check before any lookup, so garbage never reaches storage.</summary>
    public static bool LooksValid(string? token) =>
        token is { Length: TextLength } && token.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');

    public static bool HashEquals(byte[] expected, string presented) =>
        CryptographicOperations.FixedTimeEquals(expected, Hash(presented));
}
