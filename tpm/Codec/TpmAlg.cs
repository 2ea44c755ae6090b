using System.Security.Cryptography;

namespace DeviceTrust.Tpm.Codec;

/// <summary>TPM_ALG_ID values (Part 2, "TPM_ALG_ID") this project understands, and what they map to.</summary>
public static class TpmAlg
{
    public const ushort Rsa = 0x0001;
    public const ushort Sha1 = 0x0004;
    public const ushort Hmac = 0x0005;
    public const ushort Aes = 0x0006;
    public const ushort KeyedHash = 0x0008;
    public const ushort Sha256 = 0x000B;
    public const ushort Sha384 = 0x000C;
    public const ushort Sha512 = 0x000D;
    public const ushort Null = 0x0010;
    public const ushort RsaSsa = 0x0014;
    public const ushort RsaEs = 0x0015;
    public const ushort RsaPss = 0x0016;
    public const ushort Oaep = 0x0017;
    public const ushort EcDsa = 0x0018;
    public const ushort EcDh = 0x0019;
    public const ushort Ecc = 0x0023;
    public const ushort Cfb = 0x0043;

    public const ushort CurveP256 = 0x0003;
    public const ushort CurveP384 = 0x0004;
    public const ushort CurveP521 = 0x0005;

    public static bool IsHash(ushort alg) => alg is Sha1 or Sha256 or Sha384 or Sha512;

    /// <summary>The PCR bank a name stands for (<c>sha256</c>, <c>SHA256</c>, …), or null when it names none.</summary>
    public static ushort? HashByName(string name) => name.ToLowerInvariant() switch
    {
        "sha1" => Sha1,
        "sha256" => Sha256,
        "sha384" => Sha384,
        "sha512" => Sha512,
        _ => null,
    };

    public static HashAlgorithmName HashName(ushort alg) => alg switch
    {
        Sha1 => HashAlgorithmName.SHA1,
        Sha256 => HashAlgorithmName.SHA256,
        Sha384 => HashAlgorithmName.SHA384,
        Sha512 => HashAlgorithmName.SHA512,
        _ => throw new TpmFormatException($"unsupported hash algorithm 0x{alg:x4}"),
    };

    public static int DigestSize(ushort alg) => alg switch
    {
        Sha1 => 20,
        Sha256 => 32,
        Sha384 => 48,
        Sha512 => 64,
        _ => throw new TpmFormatException($"unsupported hash algorithm 0x{alg:x4}"),
    };

    public static byte[] Hash(ushort alg, ReadOnlySpan<byte> data) => alg switch
    {
#pragma warning disable CA5350 // SHA-1 PCR banks exist on real TPMs; quotes over them must still be checked
        Sha1 => SHA1.HashData(data),
#pragma warning restore CA5350
        Sha256 => SHA256.HashData(data),
        Sha384 => SHA384.HashData(data),
        Sha512 => SHA512.HashData(data),
        _ => throw new TpmFormatException($"unsupported hash algorithm 0x{alg:x4}"),
    };

    public static ECCurve Curve(ushort curve) => curve switch
    {
        CurveP256 => ECCurve.NamedCurves.nistP256,
        CurveP384 => ECCurve.NamedCurves.nistP384,
        CurveP521 => ECCurve.NamedCurves.nistP521,
        _ => throw new TpmFormatException($"unsupported ECC curve 0x{curve:x4}"),
    };

    public static int CurveBytes(ushort curve) => curve switch
    {
        CurveP256 => 32,
        CurveP384 => 48,
        CurveP521 => 66,
        _ => throw new TpmFormatException($"unsupported ECC curve 0x{curve:x4}"),
    };

    public static string Name(ushort alg) => alg switch
    {
        Rsa => "RSA",
        Sha1 => "SHA1",
        Sha256 => "SHA256",
        Sha384 => "SHA384",
        Sha512 => "SHA512",
        Null => "NULL",
        RsaSsa => "RSASSA",
        RsaPss => "RSAPSS",
        EcDsa => "ECDSA",
        Ecc => "ECC",
        _ => $"0x{alg:x4}",
    };
}
