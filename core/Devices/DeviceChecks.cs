using DeviceTrust.Core.Errors;

namespace DeviceTrust.Core.Devices;

/// <summary>
/// The ceremony rules: does the reported data fit the inventory, may this credential authenticate, has the data
/// drifted. Messages are the real reasons (they go to the audit log); the caller may be told less.
/// </summary>
public static class DeviceChecks
{
    public static void EnsureMatchesInventory(DeviceRecord device, CollectedData data)
    {
        if (data.OsType != device.OsType)
        {
            throw DeviceTrustException.PermissionDenied(
                $"collected data does not match the device: OS {data.OsType.ToText()} is not the inventory's {device.OsType.ToText()}");
        }
        if (!string.Equals(data.SerialNumber, device.AssetTag, StringComparison.Ordinal))
        {
            throw DeviceTrustException.PermissionDenied(
                $"collected data does not match the device: serial number \"{data.SerialNumber}\" is not the asset tag \"{device.AssetTag}\"");
        }
    }

    public static void EnsureCanEnroll(DeviceRecord device, CollectedData data)
    {
        if (device.EnrollStatus == EnrollStatus.Enrolled)
        {
            throw DeviceTrustException.FailedPrecondition($"device {device.AssetTag}/{device.OsType.ToText()} is already enrolled: unenroll it first");
        }
        EnsureMatchesInventory(device, data);
    }

    /// <summary>
    /// Who may authenticate a device: the user who enrolled it and the users an administrator added to it, each by
    /// immutable id (a user deleted and created again under the same name is someone else). Nobody else, whatever
    /// they know about the device.
    /// </summary>
    public static void EnsureMayUse(DeviceRecord device, DeviceUser user)
    {
        if (device.OwnerId.Length > 0 && device.OwnerId == user.Id || device.Users.Any(u => u.Id == user.Id))
        {
            return;
        }
        var addMe = $"an administrator can allow it with: dtctl devices update --device-id {device.Id} --add-user {user.Name}";
        throw DeviceTrustException.PermissionDenied(device.OwnerId.Length == 0
            ? $"user {user.Name} may not authenticate device {device.AssetTag}/{device.OsType.ToText()}: it was enrolled before devices recorded their owner's id; {addMe}, or enroll it again"
            : $"user {user.Name} may not authenticate device {device.AssetTag}/{device.OsType.ToText()}: it was enrolled by {device.Owner} (user id {device.OwnerId}); {addMe}");
    }

    public static void EnsureCanAuthenticate(DeviceRecord device, string credentialId, CollectedData data)
    {
        if (device.EnrollStatus != EnrollStatus.Enrolled || device.Credential is null)
        {
            throw DeviceTrustException.FailedPrecondition("device not enrolled");
        }
        if (!string.Equals(device.Credential.Id, credentialId, StringComparison.Ordinal))
        {
            throw DeviceTrustException.PermissionDenied("unknown device credential");
        }
        if (device.PinnedEkSha256.Length > 0 && !string.Equals(device.Credential.EkSha256, device.PinnedEkSha256, StringComparison.Ordinal))
        {
            throw DeviceTrustException.PermissionDenied(
                $"device {device.AssetTag}/{device.OsType.ToText()} did not enroll with the EK pinned in the inventory: unenroll it and enroll it again");
        }
        EnsureMatchesInventory(device, data);
        var last = device.CollectedData.Count > 0 ? device.CollectedData[^1] : null;
        if (last is not null && OsVersions.Compare(data.OsVersion, last.OsVersion) < 0)
        {
            throw DeviceTrustException.PermissionDenied(
                $"collected data drift detected: OS version {data.OsVersion} is older than the last seen {last.OsVersion}");
        }
    }
}

/// <summary>Orders OS versions such as "13.4.1", "10.0.22631", "12" by their numeric parts.</summary>
public static class OsVersions
{
    public static int Compare(string? a, string? b)
    {
        var left = Parts(a);
        var right = Parts(b);
        for (var i = 0; i < Math.Max(left.Length, right.Length); i++)
        {
            var x = i < left.Length ? left[i] : 0;
            var y = i < right.Length ? right[i] : 0;
            if (x != y)
            {
                return x.CompareTo(y);
            }
        }
        return 0;
    }

    private static long[] Parts(string? version) =>
        (version ?? "").Split('.', '-', '+', ' ')
            .Select(p => new string(p.TakeWhile(char.IsAsciiDigit).ToArray()))
            .Select(p => p.Length == 0 ? 0 : long.Parse(p.Length > 18 ? p[..18] : p, System.Globalization.CultureInfo.InvariantCulture))
            .ToArray();
}
