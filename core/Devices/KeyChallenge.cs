using System.Security.Cryptography;
using DeviceTrust.Core.Errors;

namespace DeviceTrust.Core.Devices;

/// <summary>
/// The key-device proof: 32 random bytes; the device signs SHA-256(challenge) with its P-256 key, ECDSA with an
/// ASN.1 DER signature (what Secure Enclave and most hardware produce).
/// </summary>
public static class KeyChallenge
{
    public const int Bytes = 32;

    public static byte[] New() => RandomNumberGenerator.GetBytes(Bytes);

    public static byte[] Sign(ECDsa key, byte[] challenge) =>
        key.SignData(challenge, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);

    public static bool Verify(byte[] publicKeyDer, byte[] challenge, byte[] signature)
    {
        using var key = ImportPublicKey(publicKeyDer);
        return Verify(key, challenge, signature);
    }

    public static bool Verify(ECDsa publicKey, byte[] challenge, byte[] signature) =>
        publicKey.VerifyData(challenge, signature, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);

    /// <summary>A device key that <see cref="ValidatePublicKey"/> accepted, ready to verify signatures.</summary>
    public static ECDsa ImportPublicKey(byte[] publicKeyDer)
    {
        var key = ECDsa.Create();
        try
        {
            key.ImportSubjectPublicKeyInfo(publicKeyDer, out _);
            return key;
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }

    /// <summary>A device public key: DER SubjectPublicKeyInfo of an EC P-256 key, nothing after it (P-224 and others refused).</summary>
    public static byte[] ValidatePublicKey(ReadOnlySpan<byte> der)
    {
        if (der.IsEmpty || der.Length > DeviceFields.MaxPublicKey)
        {
            throw DeviceTrustException.InvalidArgument($"public_key_der must be a DER SubjectPublicKeyInfo of at most {DeviceFields.MaxPublicKey} bytes");
        }
        using var key = ECDsa.Create();
        try
        {
            key.ImportSubjectPublicKeyInfo(der, out var read);
            if (read != der.Length)
            {
                throw DeviceTrustException.InvalidArgument("public_key_der has trailing bytes");
            }
        }
        catch (CryptographicException)
        {
            throw DeviceTrustException.InvalidArgument("public_key_der is not an EC public key");
        }
        if (key.ExportParameters(false).Curve.Oid?.Value != "1.2.840.10045.3.1.7")
        {
            throw DeviceTrustException.InvalidArgument("the device key must be on curve P-256");
        }
        return der.ToArray();
    }
}
