using DeviceTrust.Core.Audit;
using DeviceTrust.Core.Devices;
using DeviceTrust.Core.Roles;
using DeviceTrust.Grains.Inventory;
using Microsoft.AspNetCore.Mvc;

namespace DeviceTrust.Web.Pages.Devices;

/// <summary>One device: with device: read, or for its owner and the users it is shared with.</summary>
public sealed class DetailModel(IGrainFactory grains) : ConsolePage
{
    public DeviceRecord Device { get; private set; } = null!;
    public bool MayReadAudit { get; private set; }

    public async Task<IActionResult> OnGetAsync(Guid id)
    {
        var device = await grains.GetGrain<IDeviceGrain>(id).GetAsync();
        var userId = Person.Id.ToString();
        var own = device is not null && (device.OwnerId == userId || device.Users.Any(u => u.Id == userId));
        // Someone without device: read learns nothing, not even whether the id exists.
        if (!own && await RequireAsync(Resources.Device, "read", AuditCodes.DeviceGet) is { } refused)
        {
            return refused;
        }
        if (device is null)
        {
            return Message(404, "Not found", "device not found");
        }
        Device = device;
        MayReadAudit = await Host.AllowsAsync(Person, Resources.Audit, "list");
        return Page();
    }
}
