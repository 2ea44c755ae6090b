using System.Security.Cryptography;
using DeviceTrust.Core.Errors;

namespace DeviceTrust.Core.Secrets;

/// <summary>
/// The key that encrypts secrets at rest (CA private keys). AES-256-GCM; every blob carries a version byte,
/// its nonce and tag, and is bound to a purpose string so a blob cannot be swapped for another's.
/// </summary>
/// <remarks>
/// Rotation: while a previous key is given too, secrets encrypted under either decrypt, new ones are encrypted under
/// the current key, and <see cref="Rewrap"/> moves a secret from the previous key to the current one. Once every
/// stored secret is under the current key, the previous one can go.
/// </remarks>
public sealed class MasterKey : IDisposable
{
    public const int KeyBytes = 32;
    private const byte Version = 1;
    private const int NonceBytes = 12;
    private const int TagBytes = 16;

    private readonly AesGcm _aes;
    private readonly AesGcm? _previous;

    public MasterKey(ReadOnlySpan<byte> key) : this(key, default)
    {
    }

    /// <param name="previous">The key being rotated away from, or empty.</param>
    public MasterKey(ReadOnlySpan<byte> key, ReadOnlySpan<byte> previous)
    {
        if (key.Length != KeyBytes)
        {
            throw DeviceTrustException.InvalidArgument($"the master key must be {KeyBytes} bytes (base64 of 32 random bytes)");
        }
        if (!previous.IsEmpty && previous.Length != KeyBytes)
        {
            throw DeviceTrustException.InvalidArgument($"the previous master key must be {KeyBytes} bytes (base64 of 32 random bytes)");
        }
        if (!previous.IsEmpty && CryptographicOperations.FixedTimeEquals(key, previous))
        {
            throw DeviceTrustException.InvalidArgument("the previous master key is the current one: give the new key as the master key and the old one as the previous");
        }
        _aes = new AesGcm(key, TagBytes);
        _previous = previous.IsEmpty ? null : new AesGcm(previous, TagBytes);
    }

    /// <summary>Whether a previous key is configured (a rotation is under way).</summary>
    public bool HasPrevious => _previous is not null;

    public static byte[] Generate() => RandomNumberGenerator.GetBytes(KeyBytes);

    public static MasterKey FromBase64(string text, string? previous = null)
    {
        var key = Decode(text, "the master key");
        var old = string.IsNullOrWhiteSpace(previous) ? [] : Decode(previous, "the previous master key");
        try
        {
            return new MasterKey(key, old);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
            CryptographicOperations.ZeroMemory(old);
        }
    }

    private static byte[] Decode(string text, string what)
    {
        try
        {
            return Convert.FromBase64String(text.Trim());
        }
        catch (FormatException)
        {
            throw DeviceTrustException.InvalidArgument($"{what} is not valid base64");
        }
    }

    public byte[] Encrypt(ReadOnlySpan<byte> plaintext, string purpose)
    {
        var blob = new byte[1 + NonceBytes + TagBytes + plaintext.Length];
        blob[0] = Version;
        var nonce = blob.AsSpan(1, NonceBytes);
        RandomNumberGenerator.Fill(nonce);
        _aes.Encrypt(nonce, plaintext, blob.AsSpan(1 + NonceBytes + TagBytes), blob.AsSpan(1 + NonceBytes, TagBytes),
            System.Text.Encoding.UTF8.GetBytes(purpose));
        return blob;
    }

    /// <summary>The secret, encrypted under the current key or the previous one.</summary>
    public byte[] Decrypt(ReadOnlySpan<byte> blob, string purpose) => Decrypt(blob, purpose, out _);

    /// <param name="underCurrent">Whether it was encrypted under the current key (false: under the previous one).</param>
    public byte[] Decrypt(ReadOnlySpan<byte> blob, string purpose, out bool underCurrent)
    {
        if (blob.Length < 1 + NonceBytes + TagBytes || blob[0] != Version)
        {
            throw DeviceTrustException.FailedPrecondition("an encrypted secret has an unknown format");
        }
        var plaintext = new byte[blob.Length - 1 - NonceBytes - TagBytes];
        if (TryDecrypt(_aes, blob, purpose, plaintext))
        {
            underCurrent = true;
            return plaintext;
        }
        if (_previous is not null && TryDecrypt(_previous, blob, purpose, plaintext))
        {
            underCurrent = false;
            return plaintext;
        }
        throw DeviceTrustException.FailedPrecondition(_previous is null
            ? "cannot decrypt a stored secret: the master key is not the one it was encrypted with (rotating it? give the old one as DEVICETRUST_PREVIOUS_MASTER_KEY)"
            : "cannot decrypt a stored secret: neither the master key nor the previous master key is the one it was encrypted with");
    }

    /// <summary>The secret encrypted under the current key, or null if it already is.</summary>
    public byte[]? Rewrap(ReadOnlySpan<byte> blob, string purpose)
    {
        var plaintext = Decrypt(blob, purpose, out var underCurrent);
        try
        {
            return underCurrent ? null : Encrypt(plaintext, purpose);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plaintext);
        }
    }

    private static bool TryDecrypt(AesGcm key, ReadOnlySpan<byte> blob, string purpose, byte[] plaintext)
    {
        try
        {
            key.Decrypt(blob.Slice(1, NonceBytes), blob[(1 + NonceBytes + TagBytes)..], blob.Slice(1 + NonceBytes, TagBytes), plaintext,
                System.Text.Encoding.UTF8.GetBytes(purpose));
            return true;
        }
        catch (AuthenticationTagMismatchException)
        {
            CryptographicOperations.ZeroMemory(plaintext);
            return false;
        }
    }

    public void Dispose()
    {
        _aes.Dispose();
        _previous?.Dispose();
    }
}
