using DeviceTrust.Tpm.Codec;

namespace DeviceTrust.Tpm.Structures;

/// <summary>
/// TPM2B_ID_OBJECT (Part 2, "TPM2B_ID_OBJECT"): u16 size ‖ TPM2B_DIGEST integrityHMAC ‖ encIdentity (no size of its own).
/// </summary>
public sealed record IdObject(byte[] IntegrityHmac, byte[] EncIdentity)
{
    public static IdObject Parse(ReadOnlySpan<byte> data)
    {
        var outer = new TpmReader(data);
        var body = outer.Sized("TPM2B_ID_OBJECT", 2 + 64 + 2 + 64);
        outer.End("TPM2B_ID_OBJECT");
        var reader = new TpmReader(body);
        var hmac = reader.Sized("integrityHMAC", 64).ToArray();
        if (hmac.Length is not (20 or 32 or 48 or 64))
        {
            throw new TpmFormatException($"integrityHMAC: {hmac.Length} bytes is no digest size");
        }
        var encIdentity = reader.Bytes(reader.Remaining, "encIdentity").ToArray();
        if (encIdentity.Length < 2)
        {
            throw new TpmFormatException("encIdentity: truncated");
        }
        return new IdObject(hmac, encIdentity);
    }
}

/// <summary>
/// TPM2B_ENCRYPTED_SECRET: the seed, RSA-OAEP encrypted (RSA EK) or a TPMS_ECC_POINT ephemeral key (ECC EK).
/// </summary>
public static class EncryptedSecret
{
    public static byte[] Parse(ReadOnlySpan<byte> data, TpmPublic ek)
    {
        var reader = new TpmReader(data);
        var secret = reader.Sized("TPM2B_ENCRYPTED_SECRET", 512).ToArray();
        reader.End("TPM2B_ENCRYPTED_SECRET");
        if (ek.IsRsa && secret.Length != ek.Modulus.Length)
        {
            throw new TpmFormatException($"encrypted secret is {secret.Length} bytes, the RSA EK's modulus {ek.Modulus.Length}");
        }
        if (ek.IsEcc)
        {
            var point = new TpmReader(secret);
            var size = TpmAlg.CurveBytes(ek.Curve);
            point.Sized("ephemeral x", size);
            point.Sized("ephemeral y", size);
            point.End("TPMS_ECC_POINT");
        }
        return secret;
    }
}
