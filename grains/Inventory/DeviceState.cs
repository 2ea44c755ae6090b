using DeviceTrust.Core.Devices;

namespace DeviceTrust.Grains.Inventory;

/// <summary>The stored device (JSON in the grain state table; the inventory query reads its fields).</summary>
public sealed class DeviceState
{
    public DeviceRecord? Device { get; set; }
}
