using System.Security.Cryptography;
using DeviceTrust.Tpm.Codec;

namespace DeviceTrust.Tpm.Structures;

/// <summary>
/// A parsed TPMT_SIGNATURE (Part 2, "Signature Structures"): RSASSA, RSAPSS (any salt length) and ECDSA, over
/// SHA-1 (parsed, so that a policy can refuse or admit it with a reason), SHA-256, SHA-384 or SHA-512. The signature
/// is over H(TPMS_ATTEST).
/// </summary>
public sealed record TpmSignature(ushort SigAlg, ushort Hash, byte[] Rsa, byte[] R, byte[] S)
{
    public static TpmSignature Parse(ReadOnlySpan<byte> data)
    {
        var reader = new TpmReader(data);
        var alg = reader.U16("sigAlg");
        TpmSignature signature;
        switch (alg)
        {
            case TpmAlg.RsaSsa or TpmAlg.RsaPss:
                {
                    var hash = ReadHash(ref reader);
                    signature = new TpmSignature(alg, hash, reader.Sized("RSA signature", 512).ToArray(), [], []);
                    break;
                }
            case TpmAlg.EcDsa:
                {
                    var hash = ReadHash(ref reader);
                    var r = reader.Sized("ECDSA r", 66).ToArray();
                    var s = reader.Sized("ECDSA s", 66).ToArray();
                    signature = new TpmSignature(alg, hash, [], r, s);
                    break;
                }
            default:
                throw new TpmFormatException($"sigAlg: unsupported signature algorithm 0x{alg:x4}");
        }
        reader.End("TPMT_SIGNATURE");
        return signature;
    }

    private static ushort ReadHash(ref TpmReader reader)
    {
        var hash = reader.U16("signature hash");
        if (hash is not (TpmAlg.Sha1 or TpmAlg.Sha256 or TpmAlg.Sha384 or TpmAlg.Sha512))
        {
            throw new TpmFormatException($"signature hash 0x{hash:x4}: SHA-1, SHA-256, SHA-384 or SHA-512 only");
        }
        return hash;
    }

    /// <summary>Verifies this signature over <paramref name="message"/> with <paramref name="key"/>; false when it does not verify.</summary>
    public bool Verify(TpmPublic key, ReadOnlySpan<byte> message)
    {
        var hash = TpmAlg.HashName(Hash);
        switch (SigAlg)
        {
            case TpmAlg.RsaSsa or TpmAlg.RsaPss when key.IsRsa:
                {
                    if (Rsa.Length != key.Modulus.Length)
                    {
                        return false;
                    }
                    if (SigAlg == TpmAlg.RsaPss)
                    {
                        // any salt length: FIPS TPMs use the digest's, others the largest that fits
                        return Verification.RsaPss.Verify(key.Modulus, key.Exponent, Hash, message, Rsa);
                    }
                    using var rsa = key.ToRsa();
                    return rsa.VerifyData(message, Rsa, hash, RSASignaturePadding.Pkcs1);
                }
            case TpmAlg.EcDsa when key.IsEcc:
                {
                    var size = TpmAlg.CurveBytes(key.Curve);
                    if (R.Length > size || S.Length > size)
                    {
                        return false;
                    }
                    using var ecdsa = key.ToECDsa();
                    byte[] p1363 = [.. TpmPublic.LeftPad(R, size), .. TpmPublic.LeftPad(S, size)];
                    return ecdsa.VerifyData(message, p1363, hash, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
                }
            default:
                return false;
        }
    }
}
