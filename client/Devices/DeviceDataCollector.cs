using System.Runtime.InteropServices;
using DeviceTrust.Core.Errors;
using DeviceTrust.Proto.V1;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

namespace DeviceTrust.Client.Devices;

/// <summary>
/// What this device says about itself. On Linux: /etc/os-release, DMI from /sys/class/dmi/id (product serial, board
/// serial, chassis asset tag; values with spaces such as "Default string" are placeholders and skipped), the OS user.
/// <c>DTSH_DEVICE_DATA=&lt;file.json&gt;</c> overrides fields, in the JSON shape <c>dtsh device collect</c> prints.
/// </summary>
public static class DeviceDataCollector
{
    public const string OverrideVariable = "DTSH_DEVICE_DATA";
    private static readonly JsonParser StrictParser = new(JsonParser.Settings.Default.WithIgnoreUnknownFields(false));

    public static DeviceCollectedData Collect(string dmiDirectory = "/sys/class/dmi/id", string osRelease = "/etc/os-release")
    {
        var data = new DeviceCollectedData
        {
            CollectTime = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow),
            OsUsername = Environment.UserName,
        };
        if (OperatingSystem.IsLinux())
        {
            data.OsType = OSType.Linux;
            var release = ReadOsRelease(osRelease);
            data.OsVersion = release.GetValueOrDefault("VERSION_ID", "");
            data.OsId = release.GetValueOrDefault("ID", "");
            data.OsBuild = release.GetValueOrDefault("BUILD_ID", RuntimeInformation.OSDescription);
            data.SystemSerialNumber = Dmi(dmiDirectory, "product_serial");
            data.BaseBoardSerialNumber = Dmi(dmiDirectory, "board_serial");
            data.ReportedAssetTag = Dmi(dmiDirectory, "chassis_asset_tag");
            data.ModelIdentifier = Dmi(dmiDirectory, "product_name");
            data.SerialNumber = new[] { data.SystemSerialNumber, data.BaseBoardSerialNumber, data.ReportedAssetTag }.FirstOrDefault(s => s.Length > 0) ?? "";
        }
        else
        {
            data.OsType = OperatingSystem.IsMacOS() ? OSType.Macos : OperatingSystem.IsWindows() ? OSType.Windows : OSType.Unspecified;
            data.OsVersion = Environment.OSVersion.Version.ToString();
        }
        if (Environment.GetEnvironmentVariable(OverrideVariable) is { Length: > 0 } file)
        {
            data.MergeFrom(StrictParser.Parse<DeviceCollectedData>(File.ReadAllText(file)));
        }
        return data;
    }

    public static string ToJson(DeviceCollectedData data) => JsonFormatter.Default.Format(data);

    /// <summary>What <c>dtsh device collect</c> printed, read back from <paramref name="file"/> (strictly: an unknown field is an error).</summary>
    public static DeviceCollectedData ReadFile(string file)
    {
        const long maxBytes = 64 * 1024;
        var info = new FileInfo(file);
        if (!info.Exists)
        {
            throw DeviceTrustException.NotFound($"{file} does not exist");
        }
        if (info.Length > maxBytes)
        {
            throw DeviceTrustException.InvalidArgument($"{file} is larger than {maxBytes / 1024} KiB: it is not the output of dtsh device collect");
        }
        try
        {
            return StrictParser.Parse<DeviceCollectedData>(File.ReadAllText(file));
        }
        catch (InvalidProtocolBufferException e)
        {
            throw DeviceTrustException.InvalidArgument($"{file} is not device data as dtsh device collect prints it: {e.Message}");
        }
        catch (InvalidJsonException e)
        {
            throw DeviceTrustException.InvalidArgument($"{file} is not device data as dtsh device collect prints it: {e.Message}");
        }
    }

    private static Dictionary<string, string> ReadOsRelease(string path)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        if (!File.Exists(path))
        {
            return values;
        }
        foreach (var line in File.ReadAllLines(path))
        {
            var equals = line.IndexOf('=', StringComparison.Ordinal);
            if (equals > 0 && !line.StartsWith('#'))
            {
                values[line[..equals].Trim()] = line[(equals + 1)..].Trim().Trim('"');
            }
        }
        return values;
    }

    private static string Dmi(string directory, string name)
    {
        try
        {
            var value = File.ReadAllText(Path.Combine(directory, name)).Trim();
            return value.Length == 0 || value.Any(char.IsWhiteSpace) || value.Length > 120 ? "" : value;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return ""; // absent, or readable by root only
        }
    }
}
