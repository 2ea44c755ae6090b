using DeviceTrust.Core.Devices;
using DeviceTrust.Grains.ReadModels;

namespace DeviceTrust.Web.Pages.Devices;

/// <summary>The devices the signed-in user enrolled (by immutable id, as dtsh device ls), for everyone.</summary>
public sealed class MineModel(IDeviceInventory inventory) : ConsolePage
{
    public IReadOnlyList<DeviceRecord> Devices { get; private set; } = [];

    public async Task OnGetAsync() => Devices = await inventory.OwnedByAsync(Person.Id.ToString(), HttpContext.RequestAborted);
}
