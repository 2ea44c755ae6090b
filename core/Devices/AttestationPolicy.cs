using DeviceTrust.Core.Errors;

namespace DeviceTrust.Core.Devices;

/// <summary>
/// How strong a device credential's attestation is, and the cluster's minimum. Two classes are proven — an EK that
/// chains to an allowed manufacturer CA (<c>tpm_ekcert_trusted</c>), an EK the inventory pinned before the device
/// enrolled (<c>tpm_ekpub_pinned</c>) — and two are only what the device claims (<c>tpm_ekpub</c>, <c>tpm_ekcert</c>):
/// software can offer an EK and a self-made EK certificate. A self-asserted class never satisfies a TPM minimum
/// (docs/decisions/0010-honest-attestation-classes.md).
/// </summary>
public static class AttestationPolicy
{
    public static string ToText(this AttestationType type) => type switch
    {
        AttestationType.TpmEkPub => "tpm_ekpub",
        AttestationType.TpmEkCert => "tpm_ekcert",
        AttestationType.TpmEkCertTrusted => "tpm_ekcert_trusted",
        AttestationType.TpmEkPubPinned => "tpm_ekpub_pinned",
        _ => "unspecified",
    };

    public static AttestationType Parse(string? text) => text switch
    {
        null or "" or "unspecified" => AttestationType.Unspecified,
        "tpm_ekpub" => AttestationType.TpmEkPub,
        "tpm_ekcert" => AttestationType.TpmEkCert,
        "tpm_ekcert_trusted" => AttestationType.TpmEkCertTrusted,
        "tpm_ekpub_pinned" => AttestationType.TpmEkPubPinned,
        _ => throw DeviceTrustException.InvalidArgument(
            $"unknown attestation type \"{text}\": use unspecified, tpm_ekpub_pinned or tpm_ekcert_trusted"),
    };

    /// <summary>
    /// A minimum an administrator may set: the classes that prove something. The self-asserted ones are refused with
    /// what to use instead (a minimum that software can meet would only look like a rule).
    /// </summary>
    public static AttestationType ParseMinimum(string? text)
    {
        var type = Parse(text);
        if (!IsProven(type) && type != AttestationType.Unspecified)
        {
            throw DeviceTrustException.InvalidArgument(
                $"min-attestation {type.ToText()} is what a device claims, not what it proves (software can offer an EK and a self-made EK certificate): " +
                "use tpm_ekpub_pinned (the EK pinned in the inventory, or one that chains to an allowed EK CA) or tpm_ekcert_trusted (an EK certificate from an allowed EK CA)");
        }
        return type;
    }

    /// <summary>The classes that prove a hardware TPM: its EK is pinned in the inventory or chains to an allowed maker's CA.</summary>
    public static bool IsProven(AttestationType type) => type is AttestationType.TpmEkPubPinned or AttestationType.TpmEkCertTrusted;

    /// <summary>
    /// Whether <paramref name="actual"/> meets <paramref name="minimum"/>: <c>unspecified</c> is met by every credential;
    /// <c>tpm_ekpub_pinned</c> by any proven TPM; <c>tpm_ekcert_trusted</c> only by an EK certificate from an allowed CA.
    /// A minimum stored as a self-asserted class (before this rule) is read as the proven class of its kind: fail closed.
    /// </summary>
    public static bool Satisfies(AttestationType actual, AttestationType minimum) => minimum switch
    {
        AttestationType.Unspecified => true,
        AttestationType.TpmEkPub or AttestationType.TpmEkPubPinned => IsProven(actual),
        _ => actual == AttestationType.TpmEkCertTrusted,
    };

    /// <summary>The proven class a minimum stands for (a stored self-asserted minimum is read as the proven class of its kind).</summary>
    public static AttestationType Effective(AttestationType minimum) => minimum switch
    {
        AttestationType.TpmEkPub => AttestationType.TpmEkPubPinned,
        AttestationType.TpmEkCert => AttestationType.TpmEkCertTrusted,
        _ => minimum,
    };

    public static void EnsureAtLeast(AttestationType actual, AttestationType minimum)
    {
        if (Satisfies(actual, minimum))
        {
            return;
        }
        var required = Effective(minimum).ToText();
        var how = Effective(minimum) == AttestationType.TpmEkCertTrusted
            ? "an EK certificate that chains to an allowed EK CA"
            : "its EK pinned in the inventory (dtctl devices update --ek-hash or --ek-pub) or an EK certificate that chains to an allowed EK CA";
        throw DeviceTrustException.PermissionDenied(actual switch
        {
            AttestationType.TpmEkPub or AttestationType.TpmEkCert =>
                $"the device's attestation {actual.ToText()} is self-asserted and does not meet the cluster's minimum {required}: the device needs {how}",
            _ => $"the device's attestation {actual.ToText()} is weaker than the cluster's minimum {required}: the device needs {how}",
        });
    }
}
