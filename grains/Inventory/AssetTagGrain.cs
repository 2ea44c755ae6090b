using DeviceTrust.Core.Devices;
using DeviceTrust.Core.Errors;

namespace DeviceTrust.Grains.Inventory;

public sealed class AssetTagState
{
    public Guid? DeviceId { get; set; }
}

public sealed class AssetTagGrain(
    [PersistentState(StateNames.AssetTag, StateNames.Storage)] IPersistentState<AssetTagState> state,
    IGrainFactory grains) : Grain, IAssetTagGrain
{
    public async Task<DeviceRecord> CreateDeviceAsync(Guid deviceId, OsType os, string assetTag, DeviceSource source, string createdBy, string pinnedEkSha256 = "")
    {
        // This grain handles one call at a time, so two creations of the same tag cannot interleave.
        if (state.State.DeviceId is { } holder && await grains.GetGrain<IDeviceGrain>(holder).GetAsync() is not null)
        {
            throw DeviceTrustException.AlreadyExists($"device {assetTag}/{os.ToText()} is already in the inventory");
        }
        // A holder whose device is gone (a delete that stopped half-way) is taken over.
        var device = await grains.GetGrain<IDeviceGrain>(deviceId).CreateAsync(os, assetTag, source, createdBy, pinnedEkSha256);
        state.State.DeviceId = deviceId;
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            await grains.GetGrain<IDeviceGrain>(deviceId).DeleteAsync();
            DeactivateOnIdle();
            throw;
        }
        return device;
    }

    public async Task<Guid?> GetAsync() =>
        state.State.DeviceId is { } holder && await grains.GetGrain<IDeviceGrain>(holder).GetAsync() is not null ? holder : null;

    public async Task ReleaseAsync(Guid deviceId)
    {
        if (state.State.DeviceId == deviceId)
        {
            await state.ClearStateAsync();
            state.State = new AssetTagState();
        }
    }
}
