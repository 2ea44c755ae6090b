using DeviceTrust.Proto.V1;

namespace DeviceTrust.Client.Output;

/// <summary>How both CLIs name device enums for people.</summary>
public static class DeviceText
{
    public static string Os(OSType os) => os switch
    {
        OSType.Linux => "linux",
        OSType.Macos => "macos",
        OSType.Windows => "windows",
        _ => "unspecified",
    };
}
