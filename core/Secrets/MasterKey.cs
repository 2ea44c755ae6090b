using System.Security.Cryptography;
using DeviceTrust.Core.Errors;

namespace DeviceTrust.Core.Secrets;

/// <summary>
/// The key that encrypts secrets at rest (CA private keys). AES-256-GCM; every blob carries a version byte,
/// its nonce and tag, and is bound to a purpose string so a blob cannot be swapped for another's.
/// </summary>
public sealed class MasterKey : IDisposable
{
    public const int KeyBytes = 32;
    private const byte Version = 1;
    private const int NonceBytes = 12;
    private const int TagBytes = 16;

    private readonly AesGcm _aes;

    public MasterKey(ReadOnlySpan<byte> key)
    {
        if (key.Length != KeyBytes)
        {
            throw DeviceTrustException.InvalidArgument($"the master key must be {KeyBytes} bytes (base64 of 32 random bytes)");
        }
        _aes = new AesGcm(key, TagBytes);
    }

    public static byte[] Generate() => RandomNumberGenerator.GetBytes(KeyBytes);

    public static MasterKey FromBase64(string text)
    {
        byte[] key;
        try
        {
            key = Convert.FromBase64String(text.Trim());
        }
        catch (FormatException)
        {
            throw DeviceTrustException.InvalidArgument("the master key is not valid base64");
        }
        try
        {
            return new MasterKey(key);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
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

    public byte[] Decrypt(ReadOnlySpan<byte> blob, string purpose)
    {
        if (blob.Length < 1 + NonceBytes + TagBytes || blob[0] != Version)
        {
            throw DeviceTrustException.FailedPrecondition("an encrypted secret has an unknown format");
        }
        var plaintext = new byte[blob.Length - 1 - NonceBytes - TagBytes];
        try
        {
            _aes.Decrypt(blob.Slice(1, NonceBytes), blob[(1 + NonceBytes + TagBytes)..], blob.Slice(1 + NonceBytes, TagBytes), plaintext,
                System.Text.Encoding.UTF8.GetBytes(purpose));
        }
        catch (AuthenticationTagMismatchException)
        {
            throw DeviceTrustException.FailedPrecondition(
                "cannot decrypt a stored secret: the master key is not the one it was encrypted with");
        }
        return plaintext;
    }

    public void Dispose() => _aes.Dispose();
}
