using DeviceTrust.Core.Devices;

namespace DeviceTrust.Grains.Attestation;

/// <summary>
/// All TPM verification work (EK checks and chains, AK checks, MakeCredential, quotes), with no state: a stateless
/// worker, so it runs on every core of every silo, next to the caller.
/// </summary>
[Alias("dt.IAttestationVerifierGrain")]
public interface IAttestationVerifierGrain : IGrainWithIntegerKey
{
    /// <summary>
    /// Checks the EK and the AK a device offers and makes the credential only that TPM can activate. With
    /// <paramref name="pinnedEkSha256"/> (the inventory's <see cref="EkPin"/>), only that EK may enroll, and it is proven.
    /// </summary>
    [Alias("PrepareEnrollment")]
    Task<TpmEnrollmentPlan> PrepareEnrollmentAsync(TpmEnrollmentOffer offer, TpmPolicy policy, string pinnedEkSha256 = "");

    /// <summary>Verifies a quote by the AK over the nonce and the reported PCRs; throws with the reason otherwise.</summary>
    [Alias("VerifyQuote")]
    Task<TpmQuoteFacts> VerifyQuoteAsync(byte[] akPublic, TpmQuoteEvidence evidence, byte[] nonce, bool allowSha1Signatures = false);
}

/// <summary>What a TPM device offers at enrollment: its EK (certificate, or public area without one) and its AK's public area.</summary>
[GenerateSerializer, Immutable, Alias("dt.TpmEnrollmentOffer")]
public sealed record TpmEnrollmentOffer(
    [property: Id(0)] byte[]? EkCertificate,
    [property: Id(1)] byte[]? EkPublic,
    [property: Id(2)] byte[] AkPublic,
    [property: Id(3)] string CredentialId,
    [property: Id(4)] TpmCreationEvidence? Creation = null);

/// <summary>Optional proof of how the AK was made (TPM2_CertifyCreation by the AK itself): its creation data names the parent.</summary>
[GenerateSerializer, Immutable, Alias("dt.TpmCreationEvidence")]
public sealed record TpmCreationEvidence([property: Id(0)] byte[] CreateData, [property: Id(1)] byte[] Attestation, [property: Id(2)] byte[] Signature);

/// <summary>The cluster's rules for TPM evidence: manufacturer CAs (PEM) and the weakest attestation accepted.</summary>
[GenerateSerializer, Immutable, Alias("dt.TpmPolicy")]
public sealed record TpmPolicy(
    [property: Id(0)] IReadOnlyList<string> EkCertAllowedCas,
    [property: Id(1)] AttestationType MinimumAttestation,
    [property: Id(2)] bool AllowSha1Signatures = false);

/// <summary>The challenge for the device and what the server keeps to check the answer.</summary>
[GenerateSerializer, Immutable, Alias("dt.TpmEnrollmentPlan")]
public sealed record TpmEnrollmentPlan(
    [property: Id(0)] byte[] IdObject,
    [property: Id(1)] byte[] EncryptedSecret,
    [property: Id(2)] byte[] Secret,
    [property: Id(3)] AttestationType AttestationType,
    [property: Id(4)] string EkCertificateSerial,
    [property: Id(5)] byte[] AkSubjectPublicKeyInfo,
    [property: Id(6)] byte[] AkQualifiedNameUnderEk,
    [property: Id(7)] bool AllowSha1Signatures,
    [property: Id(8)] string EkSha256);

/// <summary>What a verified quote says about the TPM beyond the PCRs: its clock and who signed it (qualified name).</summary>
[GenerateSerializer, Immutable, Alias("dt.TpmQuoteFacts")]
public sealed record TpmQuoteFacts([property: Id(0)] TpmClock Clock, [property: Id(1)] byte[] QualifiedSigner);

/// <summary>A quote, the PCR values it covers and the event log (empty when none), as the device sent them.</summary>
[GenerateSerializer, Immutable, Alias("dt.TpmQuoteEvidence")]
public sealed record TpmQuoteEvidence(
    [property: Id(0)] byte[] Attest,
    [property: Id(1)] byte[] Signature,
    [property: Id(2)] IReadOnlyList<TpmPcr> Pcrs,
    [property: Id(3)] byte[] EventLog);

[GenerateSerializer, Immutable, Alias("dt.TpmPcr")]
public sealed record TpmPcr([property: Id(0)] ushort Hash, [property: Id(1)] int Index, [property: Id(2)] byte[] Digest);
