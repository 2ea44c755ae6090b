using System.Collections.Concurrent;
using DeviceTrust.Core.Access;
using DeviceTrust.Core.Devices;
using DeviceTrust.Gateway.Hosting;
using DeviceTrust.Grains.Inventory;

namespace DeviceTrust.Gateway.Policy;

/// <summary>
/// The live state of the devices certificates name, for access decisions: looked up from the device's own grain and
/// kept at most <see cref="GatewayOptions.PolicyCacheTtl"/>, so an unenrollment, a deletion or a removed user stops
/// certificates issued before it within seconds on every gateway (at once on the gateway that made the change).
/// </summary>
public sealed class DeviceStates(IGrainFactory grains, GatewayOptions options, TimeProvider time)
{
    private const int MaxDevices = 100_000;
    private readonly ConcurrentDictionary<Guid, (LiveDevice? Device, DateTimeOffset Fetched)> _devices = new();

    public async ValueTask<LiveDevice?> GetAsync(Guid id)
    {
        var now = time.GetUtcNow();
        if (_devices.TryGetValue(id, out var entry) && now - entry.Fetched < options.PolicyCacheTtl)
        {
            return entry.Device;
        }
        var live = Of(await grains.GetGrain<IDeviceGrain>(id).GetAsync());
        if (_devices.Count >= MaxDevices)
        {
            _devices.Clear();
        }
        _devices[id] = (live, now);
        return live;
    }

    public void Invalidate(Guid id) => _devices.TryRemove(id, out _);

    public static LiveDevice? Of(DeviceRecord? device) =>
        device is null
            ? null
            : new LiveDevice(device.EnrollStatus == EnrollStatus.Enrolled, device.Credential?.Id ?? "",
                [.. (device.OwnerId.Length > 0 ? [device.OwnerId] : Array.Empty<string>()), .. device.Users.Select(u => u.Id)]);
}
