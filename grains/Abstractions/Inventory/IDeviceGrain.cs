using DeviceTrust.Core.Devices;
using DeviceTrust.Grains.Attestation;

namespace DeviceTrust.Grains.Inventory;

/// <summary>
/// One device, keyed by its id: the inventory record, its credential, who may use it, what it reported, and the
/// ceremonies in progress (challenges held in memory only: each single use, 60 s, named by a ceremony id that only
/// the gateway running that ceremony knows, so ceremonies run side by side and none can cancel another).
/// </summary>
[Alias("dt.IDeviceGrain")]
public interface IDeviceGrain : IGrainWithGuidKey
{
    /// <summary>Called by the asset tag grain, which owns uniqueness of (OS, asset tag).</summary>
    [Alias("Create")]
    Task<DeviceRecord> CreateAsync(OsType os, string assetTag, DeviceSource source, string createdBy, string pinnedEkSha256 = "");

    [Alias("Get")]
    Task<DeviceRecord?> GetAsync();

    /// <summary>Removes the record; returns what was removed.</summary>
    [Alias("Delete")]
    Task<DeviceRecord> DeleteAsync();

    /// <summary>
    /// Unenrolls (the credential, owner and users go), pins the EK, sets the MDM profile, adds or removes users; in one write.
    /// Returns the device before and after.
    /// </summary>
    [Alias("Update")]
    Task<DeviceChange> UpdateAsync(DeviceUpdate update);

    /// <summary>Checks that an enrollment token may be minted for this device (it exists and is not enrolled).</summary>
    [Alias("EnsureEnrollable")]
    Task<DeviceRecord> EnsureEnrollableAsync();

    [Alias("BeginEnrollment")]
    Task<DeviceChallenge> BeginEnrollmentAsync(string credentialId, byte[] publicKeyDer, CollectedData data, DeviceUser owner, DevicePolicy policy);

    /// <summary>Checks the TPM's EK and AK (in the verifier) and returns the credential to activate and the quote nonce.</summary>
    [Alias("BeginTpmEnrollment")]
    Task<TpmEnrollChallenge> BeginTpmEnrollmentAsync(TpmEnrollmentOffer offer, DevicePolicy policy, CollectedData data, DeviceUser owner);

    [Alias("CompleteTpmEnrollment")]
    Task<DeviceRecord> CompleteTpmEnrollmentAsync(Guid ceremony, byte[] activatedSecret, TpmQuoteEvidence quote);

    [Alias("CompleteEnrollment")]
    Task<DeviceRecord> CompleteEnrollmentAsync(Guid ceremony, byte[] signature);

    /// <summary>A key challenge (32 bytes) for key devices, a quote nonce (20 bytes) for TPM devices; for its owner and users only.</summary>
    [Alias("BeginAuthentication")]
    Task<DeviceChallenge> BeginAuthenticationAsync(string credentialId, CollectedData data, DeviceUser user, DevicePolicy policy);

    [Alias("CompleteTpmAuthentication")]
    Task<DeviceRecord> CompleteTpmAuthenticationAsync(Guid ceremony, TpmQuoteEvidence quote, DevicePolicy policy);

    [Alias("CompleteAuthentication")]
    Task<DeviceRecord> CompleteAuthenticationAsync(Guid ceremony, byte[] signature);
}

/// <summary>A challenge to answer, and the id of the ceremony it belongs to (never sent to the device).</summary>
[GenerateSerializer, Immutable, Alias("dt.DeviceChallenge")]
public sealed record DeviceChallenge([property: Id(0)] bool Tpm, [property: Id(1)] byte[] Bytes, [property: Id(2)] Guid Ceremony);

[GenerateSerializer, Immutable, Alias("dt.TpmEnrollChallenge")]
public sealed record TpmEnrollChallenge([property: Id(0)] byte[] IdObject, [property: Id(1)] byte[] EncryptedSecret, [property: Id(2)] byte[] Nonce,
    [property: Id(3)] Guid Ceremony);

/// <summary>What an administrator changes on a device. Users are added by id and name, removed by name.</summary>
[GenerateSerializer, Immutable, Alias("dt.DeviceUpdate")]
public sealed record DeviceUpdate(
    [property: Id(0)] bool Unenroll,
    [property: Id(1)] DeviceProfile? Profile,
    [property: Id(2)] IReadOnlyList<DeviceUser> AddUsers,
    [property: Id(3)] IReadOnlyList<string> RemoveUsers,
    [property: Id(4)] string? PinnedEkSha256 = null)
{
    /// <summary>Pins the EK (<see cref="EkPin"/> hex); "" unpins; null leaves the pin as it is.</summary>
    public bool IsEmpty => !Unenroll && Profile is null && AddUsers.Count == 0 && RemoveUsers.Count == 0 && PinnedEkSha256 is null && Sync is null;

    /// <summary>An MDM sync's update: the profile replaces the one stored, and the device is this source's from now on.</summary>
    [Id(5)] public MdmSyncUpdate? Sync { get; init; }
}

/// <summary>
/// What an MDM sync sets beside the profile. With <see cref="UnenrollOnOwnerChange"/>, an enrolled device whose
/// assigned user the profile changes (from someone to someone else) is unenrolled in the same write: the decision is
/// the grain's, on the state it holds, not a reader's on a copy.
/// </summary>
[GenerateSerializer, Immutable, Alias("dt.MdmSyncUpdate")]
public sealed record MdmSyncUpdate([property: Id(0)] DeviceSource Source, [property: Id(1)] string SourceName, [property: Id(2)] bool UnenrollOnOwnerChange);

[GenerateSerializer, Immutable, Alias("dt.DeviceChange")]
public sealed record DeviceChange([property: Id(0)] DeviceRecord Before, [property: Id(1)] DeviceRecord After);
