namespace DeviceTrust.Core.Devices;

/// <summary>
/// Auto-enrollment: a device of the inventory may enroll without a token when what it reports matches, field for
/// field, what the MDM said about it. The reported data is the device's word only, so the match is exact, every
/// field compared must be known to the MDM, and the caller must also hold the <c>device: enroll</c> verb.
/// </summary>
public static class AutoEnrollment
{
    /// <summary>What the person at the device is told whatever the reason (the audit log has the real one).</summary>
    public const string Refused = "this device cannot enroll itself: ask an administrator for an enrollment token";

    /// <summary>Why <paramref name="device"/> may not enroll itself with <paramref name="data"/>, or null when it may.</summary>
    public static string? Refusal(DeviceRecord device, CollectedData data)
    {
        var name = $"{device.AssetTag}/{device.OsType.ToText()}";
        if (device.EnrollStatus == EnrollStatus.Enrolled)
        {
            return $"device {name} is already enrolled (by {device.Owner})";
        }
        if (device.Profile is not { } profile)
        {
            return $"device {name} has no MDM profile to compare with";
        }
        return Differs("serial number", device.AssetTag, data.SerialNumber)
               ?? (data.OsType == device.OsType ? null : $"OS differs: the inventory says {device.OsType.ToText()}, the device {data.OsType.ToText()}")
               ?? Differs("model", profile.ModelIdentifier, data.ModelIdentifier)
               ?? Differs("OS version", profile.OsVersion, data.OsVersion)
               ?? (profile.OsBuildSupplemental.Length > 0 && data.OsBuild == profile.OsBuildSupplemental
                   ? null
                   : Differs("OS build", profile.OsBuild, data.OsBuild, profile.OsBuildSupplemental));
    }

    private static string? Differs(string field, string expected, string got, string alternative = "")
    {
        if (expected.Length == 0)
        {
            return $"the MDM profile has no {field}";
        }
        if (string.Equals(expected, got, StringComparison.Ordinal))
        {
            return null;
        }
        var wanted = alternative.Length == 0 ? $"\"{expected}\"" : $"\"{expected}\" (or \"{alternative}\")";
        return $"{field} differs: the MDM says {wanted}, the device \"{got}\"";
    }
}
