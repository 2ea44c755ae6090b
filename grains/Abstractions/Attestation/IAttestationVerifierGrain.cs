using DeviceTrust.Core.Devices;
using DeviceTrust.Tpm.Structures;
using DeviceTrust.Tpm.Verification;

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
    Task<TpmEnrollmentPlan> PrepareEnrollmentAsync(TpmEnrollmentOffer offer, DevicePolicy policy, string pinnedEkSha256 = "");

    /// <summary>
    /// Verifies a quote by the AK over the nonce and the reported PCRs, its event log, and the boot policy; throws
    /// with the reason otherwise.
    /// </summary>
    [Alias("VerifyQuote")]
    Task<TpmQuoteFacts> VerifyQuoteAsync(byte[] akPublic, TpmQuoteEvidence evidence, byte[] nonce, DevicePolicy policy);
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

/// <summary>
/// The cluster's rules for device evidence, read once per ceremony: manufacturer CAs (PEM), the weakest attestation
/// accepted, SHA-1 signatures, minimum OS versions, the PCRs a quote must cover, and the boot policy (YAML, "" none).
/// </summary>
[GenerateSerializer, Immutable, Alias("dt.DevicePolicy")]
public sealed record DevicePolicy(
    [property: Id(0)] IReadOnlyList<string> EkCertAllowedCas,
    [property: Id(1)] AttestationType MinimumAttestation,
    [property: Id(2)] bool AllowSha1Signatures = false)
{
    /// <summary>No CA, no minimum, default quote PCRs, no boot policy.</summary>
    public static DevicePolicy Open { get; } = new([], AttestationType.Unspecified);

    [Id(3)] public IReadOnlyDictionary<string, string> MinOsVersions { get; init; } = new Dictionary<string, string>();

    /// <summary>The PCRs every quote must cover (<see cref="QuotePolicy.ParseBanks"/>); "" is the default, SHA-256 PCRs 0–7.</summary>
    [Id(4)] public string QuotePcrs { get; init; } = "";

    [Id(5)] public string BootPolicy { get; init; } = "";

    /// <summary>The configured PCRs every quote covers (<see cref="QuotePolicy.Default"/>'s when none are).</summary>
    public IReadOnlyList<PcrBank> ConfiguredPcrs() => QuotePcrs.Length == 0 ? QuotePolicy.Default.RequiredPcrs : QuotePolicy.ParseBanks(QuotePcrs);

    /// <summary>What a quote must cover: the configured PCRs and those the boot policy reads. Asked of the device with each nonce.</summary>
    public IReadOnlyList<PcrBank> RequiredPcrs() => QuotePolicy.Union(ConfiguredPcrs(), BootPolicyYaml.Parse(BootPolicy).QuotedPcrs());
}

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
    [property: Id(8)] string EkSha256)
{
    /// <summary>The subject of the allowed EK CA the EK certificate chains to; empty when no chain was verified.</summary>
    [Id(9)] public string EkCertificateCa { get; init; } = "";
}

/// <summary>What a verified quote says about the TPM: its clock, who signed it (qualified name), and the boot (its VerifiedAt unset).</summary>
[GenerateSerializer, Immutable, Alias("dt.TpmQuoteFacts")]
public sealed record TpmQuoteFacts([property: Id(0)] TpmClock Clock, [property: Id(1)] byte[] QualifiedSigner, [property: Id(2)] BootRecord Boot);

/// <summary>A quote, the PCR values it covers and the event log (empty when none), as the device sent them.</summary>
[GenerateSerializer, Immutable, Alias("dt.TpmQuoteEvidence")]
public sealed record TpmQuoteEvidence(
    [property: Id(0)] byte[] Attest,
    [property: Id(1)] byte[] Signature,
    [property: Id(2)] IReadOnlyList<TpmPcr> Pcrs,
    [property: Id(3)] byte[] EventLog);

[GenerateSerializer, Immutable, Alias("dt.TpmPcr")]
public sealed record TpmPcr([property: Id(0)] ushort Hash, [property: Id(1)] int Index, [property: Id(2)] byte[] Digest);
