using DeviceTrust.Core.Devices;
using DeviceTrust.Core.Errors;

namespace DeviceTrust.Core.Tests;

/// <summary>The honest-class rule (docs/decisions/0010): only proven classes meet a TPM minimum.</summary>
public sealed class AttestationPolicyTests
{
    [Theory]
    [InlineData("unspecified", "unspecified", true)]
    [InlineData("tpm_ekpub", "unspecified", true)]
    [InlineData("unspecified", "tpm_ekpub_pinned", false)]
    [InlineData("tpm_ekpub", "tpm_ekpub_pinned", false)]
    [InlineData("tpm_ekcert", "tpm_ekpub_pinned", false)]
    [InlineData("tpm_ekpub_pinned", "tpm_ekpub_pinned", true)]
    [InlineData("tpm_ekcert_trusted", "tpm_ekpub_pinned", true)]
    [InlineData("tpm_ekpub_pinned", "tpm_ekcert_trusted", false)]
    [InlineData("tpm_ekcert", "tpm_ekcert_trusted", false)]
    [InlineData("tpm_ekcert_trusted", "tpm_ekcert_trusted", true)]
    // minimums stored before the rule: read as the proven class of their kind
    [InlineData("tpm_ekpub", "tpm_ekpub", false)]
    [InlineData("tpm_ekpub_pinned", "tpm_ekpub", true)]
    [InlineData("tpm_ekcert", "tpm_ekcert", false)]
    [InlineData("tpm_ekpub_pinned", "tpm_ekcert", false)]
    [InlineData("tpm_ekcert_trusted", "tpm_ekcert", true)]
    public void Only_proven_classes_meet_a_tpm_minimum(string actual, string minimum, bool meets) =>
        Assert.Equal(meets, AttestationPolicy.Satisfies(AttestationPolicy.Parse(actual), AttestationPolicy.Parse(minimum)));

    [Theory]
    [InlineData("tpm_ekpub")]
    [InlineData("tpm_ekcert")]
    public void A_self_asserted_class_cannot_be_set_as_the_minimum(string minimum)
    {
        var error = Assert.Throws<DeviceTrustException>(() => AttestationPolicy.ParseMinimum(minimum));
        Assert.Equal(ErrorKind.InvalidArgument, error.Kind);
        Assert.StartsWith($"min-attestation {minimum} is what a device claims, not what it proves", error.Message);
    }

    [Theory]
    [InlineData("sha256:ABCDEF0123456789abcdef0123456789ABCDEF0123456789abcdef0123456789", "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789")]
    [InlineData(" abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789 ", "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789")]
    public void An_ek_hash_is_read_in_either_spelling(string text, string stored) => Assert.Equal(stored, EkPin.Parse(text));

    [Theory]
    [InlineData("sha256:")]
    [InlineData("sha1:abcdef0123456789abcdef0123456789abcdef01")]
    [InlineData("sha256:zzcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789")]
    [InlineData("sha256:abcdef0123456789abcdef0123456789abcdef0123456789abcdef012345678900")]
    public void A_malformed_ek_hash_is_refused(string text) =>
        Assert.Equal(ErrorKind.InvalidArgument, Assert.Throws<DeviceTrustException>(() => EkPin.Parse(text)).Kind);
}
