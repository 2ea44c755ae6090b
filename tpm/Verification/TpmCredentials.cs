using DeviceTrust.Tpm.Codec;
using DeviceTrust.Tpm.Structures;

namespace DeviceTrust.Tpm.Verification;

/// <summary>Credential ids of TPM devices are derived from the AK, so a device cannot claim another's.</summary>
public static class TpmCredentials
{
    /// <summary>Lower-case hex of SHA-256 over the AK's TPMT_PUBLIC (the digest in its SHA-256 Name): 64 characters.</summary>
    public static string IdOf(TpmPublic ak) => Convert.ToHexStringLower(TpmAlg.Hash(TpmAlg.Sha256, ak.Raw));
}
