using DeviceTrust.Core.Devices;

namespace DeviceTrust.Grains.Inventory;

/// <summary>Finding devices by what a person types: a device id, or an asset tag on any OS (dtctl devices find, the console's search).</summary>
public static class DeviceLookup
{
    /// <summary>The device with this id, or the devices holding this asset tag (one per OS at most).</summary>
    /// <exception cref="Core.Errors.DeviceTrustException">InvalidArgument when it is neither an id nor a valid asset tag.</exception>
    public static async Task<IReadOnlyList<DeviceRecord>> FindAsync(IGrainFactory grains, string idOrTag)
    {
        if (Guid.TryParseExact(idOrTag, "D", out var id))
        {
            return await grains.GetGrain<IDeviceGrain>(id).GetAsync() is { } byId ? [byId] : [];
        }
        return await ByAssetTagAsync(grains, idOrTag);
    }

    /// <summary>The devices holding this asset tag (one per OS at most), whatever it looks like.</summary>
    /// <exception cref="Core.Errors.DeviceTrustException">InvalidArgument when it is not a valid asset tag.</exception>
    public static async Task<IReadOnlyList<DeviceRecord>> ByAssetTagAsync(IGrainFactory grains, string assetTag)
    {
        var tag = DeviceFields.AssetTag(assetTag);
        var found = new List<DeviceRecord>();
        foreach (var os in new[] { OsType.Linux, OsType.MacOS, OsType.Windows })
        {
            if (await grains.GetGrain<IAssetTagGrain>(AssetTags.Key(os, tag)).GetAsync() is { } holder
                && await grains.GetGrain<IDeviceGrain>(holder).GetAsync() is { } device)
            {
                found.Add(device);
            }
        }
        return found;
    }
}
