using DeviceTrust.Core.Devices;

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
    Task<byte[]> BeginEnrollmentAsync(string credentialId, byte[] publicKeyDer, CollectedData data, string owner);

    [Alias("CompleteEnrollment")]
    Task<DeviceRecord> CompleteEnrollmentAsync(byte[] signature);

    [Alias("BeginAuthentication")]
    Task<byte[]> BeginAuthenticationAsync(string credentialId, CollectedData data, string user);

    [Alias("CompleteAuthentication")]
    Task<DeviceRecord> CompleteAuthenticationAsync(byte[] signature);
}
