using System.Numerics;
using System.Security.Cryptography;
using DeviceTrust.Tpm.Codec;

namespace DeviceTrust.Tpm.Structures;

/// <summary>
/// A parsed TPMT_PUBLIC (Part 2, "Public Area Structures") for RSA and ECC keys, with the exact bytes it came from
/// (the Name is a hash of them). Parsing is strict: unknown algorithms, RSA below 2048 bits, curves other than
/// P-256/384/521, a modulus or point of the wrong size, and trailing bytes are all refused.
/// </summary>
public sealed class TpmPublic
{
    private TpmPublic(byte[] raw, ushort type, ushort nameAlg, ObjectAttributes attributes, byte[] authPolicy, ushort symmetricAlg,
        ushort symmetricKeyBits, ushort symmetricMode, ushort scheme, ushort schemeHash, int rsaKeyBits, uint exponent, byte[] modulus,
        ushort curve, ushort kdf, byte[] x, byte[] y)
    {
        Raw = raw;
        Type = type;
        NameAlg = nameAlg;
        Attributes = attributes;
        AuthPolicy = authPolicy;
        SymmetricAlg = symmetricAlg;
        SymmetricKeyBits = symmetricKeyBits;
        SymmetricMode = symmetricMode;
        Scheme = scheme;
        SchemeHash = schemeHash;
        RsaKeyBits = rsaKeyBits;
        Exponent = exponent;
        Modulus = modulus;
        Curve = curve;
        Kdf = kdf;
        X = x;
        Y = y;
    }

    /// <summary>The TPMT_PUBLIC bytes (without the TPM2B size).</summary>
    public byte[] Raw { get; }
    public ushort Type { get; }
    public ushort NameAlg { get; }
    public ObjectAttributes Attributes { get; }
    public byte[] AuthPolicy { get; }
    public ushort SymmetricAlg { get; }
    public ushort SymmetricKeyBits { get; }
    public ushort SymmetricMode { get; }
    public ushort Scheme { get; }
    public ushort SchemeHash { get; }
    public int RsaKeyBits { get; }
    public uint Exponent { get; }
    public byte[] Modulus { get; }
    public ushort Curve { get; }
    public ushort Kdf { get; }
    public byte[] X { get; }
    public byte[] Y { get; }

    public bool IsRsa => Type == TpmAlg.Rsa;
    public bool IsEcc => Type == TpmAlg.Ecc;

    /// <summary>Name = nameAlg ‖ H_nameAlg(TPMT_PUBLIC) (Part 1, "Names").</summary>
    public byte[] Name() => new TpmWriter().U16(NameAlg).Bytes(TpmAlg.Hash(NameAlg, Raw)).ToArray();

    /// <summary>Parses a TPM2B_PUBLIC (u16 size ‖ TPMT_PUBLIC).</summary>
    public static TpmPublic ParseSized(ReadOnlySpan<byte> data)
    {
        var reader = new TpmReader(data);
        var inner = reader.Sized("TPM2B_PUBLIC");
        reader.End("TPM2B_PUBLIC");
        return Parse(inner);
    }

    /// <summary>Parses a TPMT_PUBLIC.</summary>
    public static TpmPublic Parse(ReadOnlySpan<byte> data)
    {
        var reader = new TpmReader(data);
        var type = reader.U16("type");
        var nameAlg = reader.U16("nameAlg");
        if (nameAlg is not (TpmAlg.Sha1 or TpmAlg.Sha256 or TpmAlg.Sha384 or TpmAlg.Sha512))
        {
            throw new TpmFormatException($"nameAlg: unsupported algorithm 0x{nameAlg:x4}");
        }
        var attributes = (ObjectAttributes)reader.U32("objectAttributes");
        var policy = reader.Sized("authPolicy", 64).ToArray();
        var (symAlg, symBits, symMode) = ReadSymmetric(ref reader);
        switch (type)
        {
            case TpmAlg.Rsa:
                {
                    var (scheme, hash) = ReadScheme(ref reader, "RSA scheme");
                    if (scheme is not (TpmAlg.Null or TpmAlg.RsaSsa or TpmAlg.RsaPss or TpmAlg.RsaEs or TpmAlg.Oaep))
                    {
                        throw new TpmFormatException($"RSA scheme: unsupported algorithm 0x{scheme:x4}");
                    }
                    var bits = reader.U16("keyBits");
                    if (bits < 2048 || bits > 4096 || bits % 8 != 0)
                    {
                        throw new TpmFormatException($"RSA keyBits {bits}: only 2048 to 4096 bits are accepted");
                    }
                    var exponent = reader.U32("exponent");
                    var modulus = reader.Sized("RSA modulus", 512).ToArray();
                    if (modulus.Length != bits / 8)
                    {
                        throw new TpmFormatException($"RSA modulus is {modulus.Length} bytes, keyBits says {bits / 8}");
                    }
                    reader.End("TPMT_PUBLIC");
                    return Usable(new TpmPublic(data.ToArray(), type, nameAlg, attributes, policy, symAlg, symBits, symMode, scheme, hash, bits,
                        exponent == 0 ? 65537 : exponent, modulus, 0, 0, [], []));
                }
            case TpmAlg.Ecc:
                {
                    var (scheme, hash) = ReadScheme(ref reader, "ECC scheme");
                    if (scheme is not (TpmAlg.Null or TpmAlg.EcDsa or TpmAlg.EcDh))
                    {
                        throw new TpmFormatException($"ECC scheme: unsupported algorithm 0x{scheme:x4}");
                    }
                    var curve = reader.U16("curveID");
                    var size = TpmAlg.CurveBytes(curve);
                    var kdf = reader.U16("kdf");
                    if (kdf != TpmAlg.Null)
                    {
                        throw new TpmFormatException($"ECC kdf: only NULL is accepted, not 0x{kdf:x4}");
                    }
                    var x = reader.Sized("ECC point x", size).ToArray();
                    var y = reader.Sized("ECC point y", size).ToArray();
                    reader.End("TPMT_PUBLIC");
                    return Usable(new TpmPublic(data.ToArray(), type, nameAlg, attributes, policy, symAlg, symBits, symMode, scheme, hash, 0, 0, [],
                        curve, kdf, x, y));
                }
            default:
                throw new TpmFormatException($"type: unsupported key type 0x{type:x4} (RSA and ECC only)");
        }
    }

    private static (ushort Alg, ushort Bits, ushort Mode) ReadSymmetric(ref TpmReader reader)
    {
        var alg = reader.U16("symmetric algorithm");
        if (alg == TpmAlg.Null)
        {
            return (alg, 0, 0);
        }
        if (alg != TpmAlg.Aes)
        {
            throw new TpmFormatException($"symmetric: unsupported algorithm 0x{alg:x4}");
        }
        var bits = reader.U16("symmetric keyBits");
        var mode = reader.U16("symmetric mode");
        if (bits is not (128 or 256) || mode != TpmAlg.Cfb)
        {
            throw new TpmFormatException($"symmetric: only AES-128/256-CFB is accepted (got {bits} bits, mode 0x{mode:x4})");
        }
        return (alg, bits, mode);
    }

    private static (ushort Scheme, ushort Hash) ReadScheme(ref TpmReader reader, string field)
    {
        var scheme = reader.U16(field);
        if (scheme == TpmAlg.Null)
        {
            return (scheme, TpmAlg.Null);
        }
        var hash = reader.U16(field + " hash");
        if (!TpmAlg.IsHash(hash))
        {
            throw new TpmFormatException($"{field}: unsupported hash 0x{hash:x4}");
        }
        return (scheme, hash);
    }

    /// <summary>
    /// A public area whose key the crypto library refuses (an RSA exponent it rejects, an ECC point off the curve) is
    /// malformed too: refused here, so every TpmPublic that parses yields a key, and no later use of it can fail in
    /// a way the callers do not expect.
    /// </summary>
    private static TpmPublic Usable(TpmPublic area)
    {
        try
        {
            _ = area.SubjectPublicKeyInfo();
            return area;
        }
        catch (CryptographicException e)
        {
            throw new TpmFormatException($"{(area.IsRsa ? "RSA" : "ECC")} public key is not a valid key: {e.Message.TrimEnd('.')}");
        }
    }

    public RSA ToRsa()
    {
        if (!IsRsa)
        {
            throw new InvalidOperationException("not an RSA key");
        }
        return RSA.Create(new RSAParameters { Modulus = Modulus, Exponent = new BigInteger(Exponent).ToByteArray(isUnsigned: true, isBigEndian: true) });
    }

    public ECDsa ToECDsa()
    {
        if (!IsEcc)
        {
            throw new InvalidOperationException("not an ECC key");
        }
        var size = TpmAlg.CurveBytes(Curve);
        return ECDsa.Create(new ECParameters { Curve = TpmAlg.Curve(Curve), Q = new ECPoint { X = LeftPad(X, size), Y = LeftPad(Y, size) } });
    }

    public ECParameters ToEcParameters()
    {
        var size = TpmAlg.CurveBytes(Curve);
        return new ECParameters { Curve = TpmAlg.Curve(Curve), Q = new ECPoint { X = LeftPad(X, size), Y = LeftPad(Y, size) } };
    }

    /// <summary>The key as DER SubjectPublicKeyInfo, to compare with certificates.</summary>
    public byte[] SubjectPublicKeyInfo()
    {
        if (IsRsa)
        {
            using var rsa = ToRsa();
            return rsa.ExportSubjectPublicKeyInfo();
        }
        using var ecdsa = ToECDsa();
        return ecdsa.ExportSubjectPublicKeyInfo();
    }

    internal static byte[] LeftPad(byte[] value, int size) =>
        value.Length >= size ? value : [.. new byte[size - value.Length], .. value];
}
