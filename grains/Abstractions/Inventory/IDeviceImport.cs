using DeviceTrust.Core.Audit;
using DeviceTrust.Core.Devices;

namespace DeviceTrust.Grains.Inventory;

/// <summary>A device to add in bulk: what CreateDevice takes (or an MDM sync: its profile and source name), already validated by the caller.</summary>
public sealed record NewDevice(OsType OsType, string AssetTag, string PinnedEkSha256 = "")
{
    public DeviceProfile? Profile { get; init; }
    public string SourceName { get; init; } = "";
}

public enum ImportResult
{
    /// <summary>The device, its asset tag and its audit event are committed.</summary>
    Created,

    /// <summary>A live device holds the (OS, asset tag): <see cref="ImportOutcome.DeviceId"/> is that device's id.</summary>
    AlreadyExists,

    /// <summary>
    /// The tag is held by a device that is gone (a delete stopped half-way): nothing was written; the asset tag grain
    /// decides, as it does for a single CreateDevice.
    /// </summary>
    Contested,
}

/// <summary>What became of one device of a bulk creation; <see cref="DeviceId"/> is its new id, or the holder's.</summary>
public sealed record ImportOutcome(ImportResult Result, Guid DeviceId);

/// <summary>
/// Adds many devices to the inventory in one database transaction, without a grain per device: the rows written are
/// those the device and asset tag grains would write, insert-only, so a tag that has any row is never overwritten
/// (the asset tag grain, which owns uniqueness, re-reads a tag it saw free before it answers or claims it).
/// </summary>
public interface IDeviceImport
{
    public const int MaxDevices = 1000;

    /// <summary>
    /// Creates the devices whose (OS, asset tag) no row holds, each with the audit event <paramref name="audit"/>
    /// makes for it, committed together: a device is there with its event, or neither is. Outcomes are in the order
    /// of <paramref name="devices"/>, which must hold each (OS, asset tag) at most once.
    /// </summary>
    Task<IReadOnlyList<ImportOutcome>> CreateAsync(IReadOnlyList<NewDevice> devices, DeviceSource source, string createdBy,
        Func<DeviceRecord, AuditEntry> audit, CancellationToken cancellationToken);
}
