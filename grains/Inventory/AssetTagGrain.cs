using DeviceTrust.Core.Devices;
using DeviceTrust.Core.Errors;

namespace DeviceTrust.Grains.Inventory;

public sealed class AssetTagState
{
    public Guid? DeviceId { get; set; }
}

public sealed class AssetTagGrain(
    [PersistentState(StateNames.AssetTag, StateNames.Storage)] IPersistentState<AssetTagState> state,
    IGrainFactory grains,
    TimeProvider time) : Grain, IAssetTagGrain
{
    /// <summary>How long a lookup may answer "free" from memory; a bulk import shows up in lookups within this.</summary>
    public static readonly TimeSpan FreeTagStaleness = TimeSpan.FromSeconds(2);

    private bool _justActivated = true;
    private DateTimeOffset _readAt = time.GetUtcNow();

    public async Task<DeviceRecord> CreateDeviceAsync(Guid deviceId, OsType os, string assetTag, DeviceSource source, string createdBy, string pinnedEkSha256 = "")
    {
        // This grain handles one call at a time, so two creations of the same tag cannot interleave.
        if (await HolderAsync(exact: true) is { } holder && await grains.GetGrain<IDeviceGrain>(holder).GetAsync() is not null)
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
        await HolderAsync(exact: false) is { } holder && await grains.GetGrain<IDeviceGrain>(holder).GetAsync() is not null ? holder : null;

    /// <summary>
    /// The holder this grain knows. Only this grain changes or frees a holder, so a holder is never stale; but a bulk
    /// import (<see cref="IDeviceImport"/>) may claim a free tag without the grain, so a tag seen free is read again:
    /// always before a creation (<paramref name="exact"/>; a stale "free" there would only end in a version conflict,
    /// but the caller deserves "already exists"), and for lookups once it is older than <see cref="FreeTagStaleness"/>.
    /// </summary>
    private async Task<Guid?> HolderAsync(bool exact)
    {
        if (state.State.DeviceId is null && (exact ? !_justActivated : time.GetUtcNow() - _readAt > FreeTagStaleness))
        {
            await state.ReadStateAsync();
            _readAt = time.GetUtcNow();
        }
        _justActivated = false;
        return state.State.DeviceId;
    }

    public async Task ReleaseAsync(Guid deviceId)
    {
        if (state.State.DeviceId == deviceId)
        {
            await state.ClearStateAsync();
            state.State = new AssetTagState();
        }
    }
}
