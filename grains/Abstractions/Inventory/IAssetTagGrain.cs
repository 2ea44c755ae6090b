using DeviceTrust.Core.Devices;

namespace DeviceTrust.Grains.Inventory;

/// <summary>Which device holds an (OS, asset tag) pair, keyed "{os}/{asset tag}": uniqueness and lookup.</summary>
[Alias("dt.IAssetTagGrain")]
public interface IAssetTagGrain : IGrainWithStringKey
{
    /// <summary>Creates the device under this tag; AlreadyExists when a live device holds it.</summary>
    [Alias("CreateDevice")]
    Task<DeviceRecord> CreateDeviceAsync(Guid deviceId, OsType os, string assetTag, DeviceSource source, string createdBy, string pinnedEkSha256 = "");

    /// <summary>The device holding the tag, or null.</summary>
    [Alias("Get")]
    Task<Guid?> GetAsync();

    /// <summary>Frees the tag if <paramref name="deviceId"/> holds it.</summary>
    [Alias("Release")]
    Task ReleaseAsync(Guid deviceId);
}
