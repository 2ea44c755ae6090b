using System.Numerics;
using System.Security.Cryptography;
using DeviceTrust.Tpm.Codec;

namespace DeviceTrust.Tpm.Verification;

/// <summary>
/// RSASSA-PSS verification (RFC 8017 §8.1.2, EMSA-PSS-VERIFY §9.1.2, MGF1 with the same hash) that recovers the salt
/// length from the signature instead of assuming it. TPMs sign with a salt as long as the digest when they follow
/// FIPS 186 and with the largest salt that fits otherwise (TPM 2.0 Part 1, "RSASSA-PSS"); .NET only verifies the
/// first. A public-key operation on public data, so plain BigInteger arithmetic is fine here.
/// </summary>
public static class RsaPss
{
    public static bool Verify(byte[] modulus, uint exponent, ushort hashAlg, ReadOnlySpan<byte> message, ReadOnlySpan<byte> signature)
    {
        var n = new BigInteger(modulus, isUnsigned: true, isBigEndian: true);
        var s = new BigInteger(signature, isUnsigned: true, isBigEndian: true);
        if (signature.Length != modulus.Length || n.IsZero || s >= n)
        {
            return false;
        }
        var modBits = (int)n.GetBitLength();
        var emBits = modBits - 1;
        var emLength = (emBits + 7) / 8;
        var m = BigInteger.ModPow(s, exponent, n).ToByteArray(isUnsigned: true, isBigEndian: true);
        if (m.Length > emLength)
        {
            return false;
        }
        var em = new byte[emLength];
        m.CopyTo(em, emLength - m.Length);
        var hLength = TpmAlg.DigestSize(hashAlg);
        if (emLength < hLength + 2 || em[^1] != 0xBC)
        {
            return false;
        }
        var dbLength = emLength - hLength - 1;
        var h = em.AsSpan(dbLength, hLength);
        var unusedBits = 8 * emLength - emBits;
        var topMask = (byte)(0xFF >> unusedBits);
        if ((em[0] & ~topMask) != 0)
        {
            return false;
        }
        var db = Mgf1(hashAlg, h, dbLength);
        for (var i = 0; i < dbLength; i++)
        {
            db[i] ^= em[i];
        }
        db[0] &= topMask;
        var separator = Array.FindIndex(db, b => b != 0);
        if (separator < 0 || db[separator] != 0x01)
        {
            return false;
        }
        var salt = db.AsSpan(separator + 1);
        byte[] prime = [.. new byte[8], .. TpmAlg.Hash(hashAlg, message), .. salt];
        return CryptographicOperations.FixedTimeEquals(TpmAlg.Hash(hashAlg, prime), h);
    }

    private static byte[] Mgf1(ushort hashAlg, ReadOnlySpan<byte> seed, int length)
    {
        var output = new List<byte>(length + 64);
        for (uint counter = 0; output.Count < length; counter++)
        {
            output.AddRange(TpmAlg.Hash(hashAlg, [.. seed, (byte)(counter >> 24), (byte)(counter >> 16), (byte)(counter >> 8), (byte)counter]));
        }
        return output.GetRange(0, length).ToArray();
    }
}
