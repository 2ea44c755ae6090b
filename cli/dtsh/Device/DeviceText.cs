using DeviceTrust.Proto.V1;

namespace DeviceTrust.Cli.Dtsh.Device;

internal static class DeviceText
{
    public static string Os(OSType os) => os switch
    {
        OSType.Linux => "linux",
        OSType.Macos => "macos",
        OSType.Windows => "windows",
        _ => "unspecified",
    };
}
