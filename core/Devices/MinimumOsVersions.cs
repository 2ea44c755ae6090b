using DeviceTrust.Core.Errors;

namespace DeviceTrust.Core.Devices;

/// <summary>
/// The cluster's minimum OS versions, checked against what a device reports at enrollment and at every
/// authentication: keys <c>linux</c>, <c>macos</c>, <c>windows</c>, and <c>linux/&lt;os_id&gt;</c> for one distribution
/// (its /etc/os-release ID: <c>linux/debian=12</c>, <c>linux/ubuntu=22.04</c>), which takes precedence over
/// <c>linux</c> — Linux version numbers mean something only within a distribution. Versions compare by their
/// numeric parts (<see cref="OsVersions"/>).
/// </summary>
public static class MinimumOsVersions
{
    public const int MaxEntries = 32;

    /// <summary>The stored form of a key; throws InvalidArgument for anything else.</summary>
    public static string Key(string key)
    {
        if (key.Length > 64)
        {
            throw DeviceTrustException.InvalidArgument($"\"{Clip(key)}\" is not an OS: use linux, macos, windows, or linux/<os_id>");
        }
        var parts = key.Trim().ToLowerInvariant().Split('/', 2);
        var os = OsTypes.Parse(parts[0]).ToText();
        if (parts.Length == 1)
        {
            return os;
        }
        if (os != "linux" || parts[1].Length is 0 or > 32 || !parts[1].All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '.' or '_' or '-'))
        {
            throw DeviceTrustException.InvalidArgument(
                $"\"{Clip(key)}\" is not an OS: use linux, macos, windows, or linux/<os_id> (the ID in /etc/os-release, e.g. linux/debian)");
        }
        return $"linux/{parts[1]}";
    }

    /// <summary>A version like <c>12</c>, <c>22.04</c>, <c>14.2.1</c>, <c>10.0.19045</c>; throws InvalidArgument otherwise.</summary>
    public static string Version(string version)
    {
        var text = version.Trim();
        var parts = text.Split('.');
        if (text.Length is 0 or > 32 || parts.Length > 5 || parts.Any(p => p.Length is 0 or > 9 || !p.All(char.IsAsciiDigit)))
        {
            throw DeviceTrustException.InvalidArgument($"\"{Clip(version)}\" is not a version: use numbers and dots, like 12, 22.04 or 10.0.19045");
        }
        return text;
    }

    /// <summary>The minimum that applies to <paramref name="data"/>, with the key it came from; null when none does.</summary>
    public static (string Key, string Version)? For(CollectedData data, IReadOnlyDictionary<string, string> minimums)
    {
        var os = data.OsType.ToText();
        if (data.OsType == OsType.Linux && data.OsId.Length > 0 && minimums.TryGetValue($"linux/{data.OsId.ToLowerInvariant()}", out var distribution))
        {
            return ($"linux/{data.OsId.ToLowerInvariant()}", distribution);
        }
        return minimums.TryGetValue(os, out var minimum) ? (os, minimum) : null;
    }

    public static void Ensure(CollectedData data, IReadOnlyDictionary<string, string> minimums)
    {
        if (minimums.Count == 0 || For(data, minimums) is not var (key, minimum))
        {
            return;
        }
        if (data.OsVersion.Length == 0)
        {
            throw DeviceTrustException.PermissionDenied($"the device reports no OS version, and the cluster requires {key} {minimum} or later");
        }
        if (OsVersions.Compare(data.OsVersion, minimum) < 0)
        {
            throw DeviceTrustException.PermissionDenied(
                $"the device reports {key} {data.OsVersion}, older than the cluster's minimum {minimum} for {key}: update its OS");
        }
    }

    private static string Clip(string text) => text.Length > 40 ? text[..40] + "…" : text;
}
