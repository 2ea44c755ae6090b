using DeviceTrust.Core.Audit;
using DeviceTrust.Core.Devices;
using DeviceTrust.Core.Errors;
using DeviceTrust.Core.Roles;
using DeviceTrust.Grains.Inventory;
using DeviceTrust.Grains.ReadModels;
using Microsoft.AspNetCore.Mvc;

namespace DeviceTrust.Web.Pages.Devices;

/// <summary>The inventory, a page at a time (device: list), or the devices an asset tag or id names (device: read).</summary>
public sealed class IndexModel(IDeviceInventory inventory, IGrainFactory grains) : ConsolePage
{
    public const int PageSize = 50;

    public string Query { get; private set; } = "";
    public IReadOnlyList<DeviceRecord> Devices { get; private set; } = [];
    public string NextPageToken { get; private set; } = "";

    /// <summary>Set after a device was deleted from its page (a fixed sentence; the URL says only that it happened).</summary>
    public bool Deleted { get; private set; }

    public async Task<IActionResult> OnGetAsync([FromQuery] string? q, [FromQuery] string? from, [FromQuery] string? done)
    {
        Deleted = done == "deleted";
        try
        {
            if (!string.IsNullOrWhiteSpace(q))
            {
                if (await RequireAsync(Resources.Device, "read", AuditCodes.DeviceFind) is { } refused)
                {
                    return refused;
                }
                Query = q.Trim();
                Devices = await DeviceLookup.FindAsync(grains, Query);
                return Page();
            }
            if (await RequireAsync(Resources.Device, "list", AuditCodes.DeviceList) is { } denied)
            {
                return denied;
            }
            var found = await inventory.ListAsync(PageSize, from ?? "", HttpContext.RequestAborted);
            (Devices, NextPageToken) = (found.Items, found.NextPageToken);
            return Page();
        }
        catch (DeviceTrustException e) when (e.Kind == ErrorKind.InvalidArgument)
        {
            return Invalid(e);
        }
    }
}
