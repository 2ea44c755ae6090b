using DeviceTrust.Core.Devices;
using DeviceTrust.Grains.Attestation;

namespace DeviceTrust.Grains.Inventory;

/// <summary>
/// One device, keyed by its id: the inventory record, its credential, what it reported, and the ceremony in
/// progress (a challenge held in memory only: single use, 60 s, a new one cancels the old one).
/// </summary>
[Alias("dt.IDeviceGrain")]
public interface IDeviceGrain : IGrainWithGuidKey
{
    /// <summary>Called by the asset tag grain, which owns uniqueness of (OS, asset tag).</summary>
    [Alias("Create")]
    Task<DeviceRecord> CreateAsync(OsType os, string assetTag, DeviceSource source, string createdBy);

    [Alias("Get")]
    Task<DeviceRecord?> GetAsync();

    /// <summary>Removes the record; returns what was removed.</summary>
    [Alias("Delete")]
    Task<DeviceRecord> DeleteAsync();

    [Alias("Update")]
    Task<DeviceRecord> UpdateAsync(bool unenroll, DeviceProfile? profile);

    /// <summary>Checks that an enrollment token may be minted for this device (it exists and is not enrolled).</summary>
    [Alias("EnsureEnrollable")]
    Task<DeviceRecord> EnsureEnrollableAsync();

    [Alias("BeginEnrollment")]
    Task<byte[]> BeginEnrollmentAsync(string credentialId, byte[] publicKeyDer, CollectedData data, string owner, AttestationType minimum);

    /// <summary>Checks the TPM's EK and AK (in the verifier) and returns the credential to activate and the quote nonce.</summary>
    [Alias("BeginTpmEnrollment")]
    Task<TpmEnrollChallenge> BeginTpmEnrollmentAsync(TpmEnrollmentOffer offer, TpmPolicy policy, CollectedData data, string owner);

    [Alias("CompleteTpmEnrollment")]
    Task<DeviceRecord> CompleteTpmEnrollmentAsync(byte[] activatedSecret, TpmQuoteEvidence quote);

    [Alias("CompleteEnrollment")]
    Task<DeviceRecord> CompleteEnrollmentAsync(byte[] signature);

    /// <summary>A key challenge (32 bytes) for key devices, a quote nonce (20 bytes) for TPM devices.</summary>
    [Alias("BeginAuthentication")]
    Task<DeviceChallenge> BeginAuthenticationAsync(string credentialId, CollectedData data, string user, AttestationType minimum);

    [Alias("CompleteTpmAuthentication")]
    Task<DeviceRecord> CompleteTpmAuthenticationAsync(TpmQuoteEvidence quote);

    [Alias("CompleteAuthentication")]
    Task<DeviceRecord> CompleteAuthenticationAsync(byte[] signature);
}

[GenerateSerializer, Immutable, Alias("dt.DeviceChallenge")]
public sealed record DeviceChallenge([property: Id(0)] bool Tpm, [property: Id(1)] byte[] Bytes);

[GenerateSerializer, Immutable, Alias("dt.TpmEnrollChallenge")]
public sealed record TpmEnrollChallenge([property: Id(0)] byte[] IdObject, [property: Id(1)] byte[] EncryptedSecret, [property: Id(2)] byte[] Nonce);
