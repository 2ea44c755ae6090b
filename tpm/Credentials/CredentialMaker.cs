using System.Numerics;
using System.Security.Cryptography;
using System.Text;
using DeviceTrust.Tpm.Codec;
using DeviceTrust.Tpm.Structures;

namespace DeviceTrust.Tpm.Credentials;

/// <summary>
/// The wire blobs for TPM2_ActivateCredential: TPM2B_ID_OBJECT (the credential, encrypted and bound to the AK's
/// Name) and TPM2B_ENCRYPTED_SECRET (the seed, for the EK alone to recover). Both include their u16 size.
/// </summary>
public sealed record MadeCredential(byte[] IdObject, byte[] EncryptedSecret);

/// <summary>
/// Server-side TPM2_MakeCredential (Part 1, "Credential Protection"; Annex B/C secret sharing), in software. Every hash
/// is the EK's nameAlg. Only a TPM that holds the EK's private key and has the AK with exactly that Name loaded can
/// recover the secret: that is what ties the AK to the EK.
/// </summary>
public static class CredentialMaker
{
    public static MadeCredential Make(TpmPublic ek, ReadOnlySpan<byte> akName, ReadOnlySpan<byte> secret)
    {
        var hash = ek.NameAlg;
        var digestSize = TpmAlg.DigestSize(hash);
        if (secret.IsEmpty || secret.Length > digestSize)
        {
            throw new ArgumentException($"the credential must be 1 to {digestSize} bytes", nameof(secret));
        }
        if (ek.SymmetricAlg != TpmAlg.Aes)
        {
            throw new TpmFormatException("the EK has no AES symmetric definition: it is not a storage key");
        }
        byte[] seed;
        byte[] encryptedSeed;
        if (ek.IsRsa)
        {
            seed = RandomNumberGenerator.GetBytes(digestSize);
            encryptedSeed = OaepEncrypt(ek, seed, hash, "IDENTITY\0"u8);
        }
        else
        {
            (seed, encryptedSeed) = EcdhSeed(ek, hash, digestSize);
        }
        var symmetricKey = Kdf.A(hash, seed, "STORAGE", akName, [], ek.SymmetricKeyBits);
        var encIdentity = AesCfbEncrypt(symmetricKey, new TpmWriter().Sized(secret).ToArray());
        var hmacKey = Kdf.A(hash, seed, "INTEGRITY", [], [], digestSize * 8);
        byte[] integrityInput = [.. encIdentity, .. akName];
        var integrity = CryptographicOperations.HmacData(TpmAlg.HashName(hash), hmacKey, integrityInput);
        var idObject = new TpmWriter().Sized(new TpmWriter().Sized(integrity).Bytes(encIdentity).ToArray()).ToArray();
        return new MadeCredential(idObject, new TpmWriter().Sized(encryptedSeed).ToArray());
    }

    private static (byte[] Seed, byte[] Point) EcdhSeed(TpmPublic ek, ushort hash, int digestSize)
    {
        using var ephemeral = ECDiffieHellman.Create(TpmAlg.Curve(ek.Curve));
        using var peer = ECDiffieHellman.Create(ek.ToEcParameters());
        var size = TpmAlg.CurveBytes(ek.Curve);
        var z = TpmPublic.LeftPad(ephemeral.DeriveRawSecretAgreement(peer.PublicKey), size);
        var q = ephemeral.ExportParameters(false).Q;
        var seed = Kdf.E(hash, z, "IDENTITY", q.X, TpmPublic.LeftPad(ek.X, size), digestSize * 8);
        return (seed, new TpmWriter().Sized(q.X).Sized(q.Y).ToArray());
    }

    /// <summary>
    /// RSAES-OAEP (RFC 8017 §7.1.1) with a label, which .NET's RSA API cannot take: EME-OAEP by hand, then the raw
    /// public-key operation.
    /// </summary>
    private static byte[] OaepEncrypt(TpmPublic ek, byte[] message, ushort hash, ReadOnlySpan<byte> label)
    {
        var k = ek.Modulus.Length;
        var hLen = TpmAlg.DigestSize(hash);
        var lHash = TpmAlg.Hash(hash, label);
        var db = new byte[k - hLen - 1];
        lHash.CopyTo(db, 0);
        db[db.Length - message.Length - 1] = 0x01;
        message.CopyTo(db, db.Length - message.Length);
        var seed = RandomNumberGenerator.GetBytes(hLen);
        Xor(db, Mgf1(hash, seed, db.Length));
        Xor(seed, Mgf1(hash, db, hLen));
        byte[] em = [0, .. seed, .. db];
        var m = new BigInteger(em, isUnsigned: true, isBigEndian: true);
        var n = new BigInteger(ek.Modulus, isUnsigned: true, isBigEndian: true);
        var c = BigInteger.ModPow(m, new BigInteger(ek.Exponent), n).ToByteArray(isUnsigned: true, isBigEndian: true);
        return TpmPublic.LeftPad(c, k);
    }

    private static byte[] Mgf1(ushort hash, byte[] seed, int length)
    {
        var mask = new List<byte>(length + 64);
        for (uint counter = 0; mask.Count < length; counter++)
        {
            mask.AddRange(TpmAlg.Hash(hash, new TpmWriter().Bytes(seed).U32(counter).ToArray()));
        }
        return mask.Take(length).ToArray();
    }

    private static void Xor(byte[] target, byte[] mask)
    {
        for (var i = 0; i < target.Length; i++)
        {
            target[i] ^= mask[i];
        }
    }

    /// <summary>AES-CFB128 with a zero IV and no padding: the output is as long as the input.</summary>
    private static byte[] AesCfbEncrypt(byte[] key, byte[] plaintext)
    {
        using var aes = Aes.Create();
        aes.Key = key;
        var padded = new byte[(plaintext.Length + 15) / 16 * 16];
        plaintext.CopyTo(padded, 0);
        return aes.EncryptCfb(padded, new byte[16], PaddingMode.None, 128)[..plaintext.Length];
    }

}
