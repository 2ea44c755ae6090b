using DeviceTrust.Core.Errors;

namespace DeviceTrust.Core.Devices;

public enum OsType
{
    Unspecified = 0,
    Linux = 1,
    MacOS = 2,
    Windows = 3,
}

public static class OsTypes
{
    public static string ToText(this OsType os) => os switch
    {
        OsType.Linux => "linux",
        OsType.MacOS => "macos",
        OsType.Windows => "windows",
        _ => "unspecified",
    };

    public static OsType Parse(string? text) => text?.ToLowerInvariant() switch
    {
        "linux" => OsType.Linux,
        "macos" or "darwin" => OsType.MacOS,
        "windows" => OsType.Windows,
        _ => throw DeviceTrustException.InvalidArgument($"unknown OS \"{text}\": use linux, macos or windows"),
    };

    public static OsType Require(OsType os) =>
        os is OsType.Linux or OsType.MacOS or OsType.Windows ? os : throw DeviceTrustException.InvalidArgument("os_type is required: linux, macos or windows");
}
