namespace DeviceTrust.Core.Devices;

/// <summary>What a device reported about itself at one ceremony (validated by <see cref="DeviceFields"/>).</summary>
public sealed record CollectedData(
    DateTimeOffset CollectTime,
    DateTimeOffset RecordTime,
    OsType OsType,
    string SerialNumber,
    string ModelIdentifier,
    string OsVersion,
    string OsBuild,
    string OsUsername,
    string OsId,
    string ReportedAssetTag,
    string SystemSerialNumber,
    string BaseBoardSerialNumber)
{
    public CollectedData RecordedAt(DateTimeOffset now) => this with { RecordTime = now };
}
