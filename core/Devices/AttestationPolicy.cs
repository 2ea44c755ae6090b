using DeviceTrust.Core.Errors;

namespace DeviceTrust.Core.Devices;

/// <summary>How strong a device credential's attestation is, and the cluster's minimum.</summary>
public static class AttestationPolicy
{
    public static string ToText(this AttestationType type) => type switch
    {
        AttestationType.TpmEkPub => "tpm_ekpub",
        AttestationType.TpmEkCert => "tpm_ekcert",
        AttestationType.TpmEkCertTrusted => "tpm_ekcert_trusted",
        _ => "unspecified",
    };

    public static AttestationType Parse(string? text) => text switch
    {
        null or "" or "unspecified" => AttestationType.Unspecified,
        "tpm_ekpub" => AttestationType.TpmEkPub,
        "tpm_ekcert" => AttestationType.TpmEkCert,
        "tpm_ekcert_trusted" => AttestationType.TpmEkCertTrusted,
        _ => throw DeviceTrustException.InvalidArgument($"unknown attestation type \"{text}\": use unspecified, tpm_ekpub, tpm_ekcert or tpm_ekcert_trusted"),
    };

    /// <summary>The enum's order is the strength order: unspecified &lt; ekpub &lt; ekcert &lt; ekcert_trusted.</summary>
    public static void EnsureAtLeast(AttestationType actual, AttestationType minimum)
    {
        if (actual < minimum)
        {
            throw DeviceTrustException.PermissionDenied(
                $"the device's attestation {actual.ToText()} is weaker than the cluster's minimum {minimum.ToText()}");
        }
    }
}
