using DeviceTrust.Proto.V1;
using Google.Protobuf.WellKnownTypes;

namespace DeviceTrust.EndToEnd.Tests;

/// <summary>What a test's simulated Linux device reports about itself, collected now: its serial is its asset tag.</summary>
public static class LinuxDeviceData
{
    public static DeviceCollectedData Now(string serial, string osUser) => new()
    {
        CollectTime = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow),
        OsType = OSType.Linux,
        SerialNumber = serial,
        OsVersion = "12",
        OsUsername = osUser,
    };
}
