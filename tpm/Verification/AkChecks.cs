using DeviceTrust.Tpm.Codec;
using DeviceTrust.Tpm.Structures;

namespace DeviceTrust.Tpm.Verification;

/// <summary>
/// What makes an attestation key trustworthy (TPM-NOTES §2.8): created inside the TPM, never leaving it, restricted
/// to signing TPM-generated data. ActivateCredential does not check attributes; the server must, on the same public
/// area whose Name it binds the credential to.
/// </summary>
public static class AkChecks
{
    private const ObjectAttributes Required =
        ObjectAttributes.FixedTpm | ObjectAttributes.FixedParent | ObjectAttributes.SensitiveDataOrigin | ObjectAttributes.Restricted | ObjectAttributes.Sign;

    /// <summary>
    /// What is refused about SHA-1 signatures unless the cluster admits them on purpose (Windows creates RSASSA/SHA-1
    /// AKs): SHA-1 collisions are practical, so a SHA-1 quote proves less than a SHA-256 one.
    /// </summary>
    public static string Sha1Refused(string what) =>
        $"{what} signs with SHA-1, which the cluster does not accept (dtctl config set allow-sha1-signatures true admits such TPMs, e.g. Windows AKs, on purpose)";

    /// <param name="allowSha1">Admit an AK whose scheme signs with SHA-1 (off by default: weaker).</param>
    public static void Check(TpmPublic ak, bool allowSha1 = false)
    {
        if (ak.NameAlg is not (TpmAlg.Sha256 or TpmAlg.Sha384))
        {
            throw new TpmVerificationException($"AK nameAlg {TpmAlg.Name(ak.NameAlg)}: SHA-256 or SHA-384 required");
        }
        var missing = Required & ~ak.Attributes;
        if (missing != 0)
        {
            throw new TpmVerificationException($"AK attributes lack {missing}: it must be a restricted signing key created in the TPM");
        }
        if (ak.Attributes.HasFlag(ObjectAttributes.Decrypt))
        {
            throw new TpmVerificationException("AK has the decrypt attribute: an attestation key must only sign");
        }
        if (ak.SymmetricAlg != TpmAlg.Null)
        {
            throw new TpmVerificationException("AK has a symmetric algorithm: a signing key must have NULL");
        }
        var allowed = ak.IsRsa ? ak.Scheme is TpmAlg.RsaSsa or TpmAlg.RsaPss : ak.Scheme == TpmAlg.EcDsa;
        if (allowed && ak.SchemeHash == TpmAlg.Sha1 && !allowSha1)
        {
            throw new TpmVerificationException(Sha1Refused("AK scheme " + $"{TpmAlg.Name(ak.Scheme)}/SHA1"));
        }
        if (!allowed || ak.SchemeHash is not (TpmAlg.Sha256 or TpmAlg.Sha384 or TpmAlg.Sha1))
        {
            throw new TpmVerificationException($"AK scheme {TpmAlg.Name(ak.Scheme)}/{TpmAlg.Name(ak.SchemeHash)} is not allowed (RSASSA, RSAPSS or ECDSA with SHA-256/384)");
        }
        if (ak.IsEcc && ak.Curve is not (TpmAlg.CurveP256 or TpmAlg.CurveP384))
        {
            throw new TpmVerificationException("AK curve must be P-256 or P-384");
        }
    }

    /// <summary>
    /// Optional creation evidence (TPM2_CertifyCreation, go-attestation's attestation parameters): the AK certified its
    /// own creation data, which names its parent.
    /// </summary>
    public static CreationData CheckCreation(TpmPublic ak, ReadOnlySpan<byte> creationData, ReadOnlySpan<byte> attestation, ReadOnlySpan<byte> signature)
    {
        var data = CreationData.Parse(creationData);
        var attest = Parse(attestation);
        if (attest.Type != TpmAttest.TypeCreation)
        {
            throw new TpmVerificationException($"creation attestation has type 0x{attest.Type:x4}, not CREATION");
        }
        if (!attest.ObjectName.AsSpan().SequenceEqual(ak.Name()))
        {
            throw new TpmVerificationException("creation attestation names another object than the AK");
        }
        if (!attest.CreationHash.AsSpan().SequenceEqual(TpmAlg.Hash(ak.NameAlg, creationData)))
        {
            throw new TpmVerificationException("creation hash does not match the creation data");
        }
        if (!QuoteVerifier.ParseSignature(signature).Verify(ak, attestation))
        {
            throw new TpmVerificationException("creation attestation signature does not verify with the AK");
        }
        return data;
    }

    internal static TpmAttest Parse(ReadOnlySpan<byte> attestation)
    {
        try
        {
            return TpmAttest.Parse(attestation);
        }
        catch (TpmFormatException e)
        {
            throw new TpmVerificationException($"attestation is malformed: {e.Message}", e);
        }
    }
}
