namespace DeviceTrust.Core.Devices;

/// <summary>What the MDM says of a device, as auto-enrollment compares it.</summary>
public sealed record MdmFacts(string SerialNumber, OsType Os, string Model, string OsVersion, string OsBuild, string OsBuildSupplemental);

/// <summary>What a device reported about itself, as auto-enrollment compares it.</summary>
public sealed record ReportedFacts(string SerialNumber, OsType Os, string Model, string OsVersion, string OsBuild);

/// <summary>One compared field: what the MDM expects (with the alternative it also accepts), what came, whether that is a match.</summary>
public sealed record FieldMatch(string Field, string Expected, string Alternative, string Got, bool Matches)
{
    public string Reason => Expected.Length == 0
        ? $"the MDM profile has no {Field}"
        : $"{Field} differs: the MDM says \"{Expected}\"{(Alternative.Length == 0 ? "" : $" (or \"{Alternative}\")")}, the device \"{Got}\"";
}

/// <summary>
/// Auto-enrollment: a device of the inventory may enroll without a token when what it reports matches, field for
/// field, what the MDM said about it. The reported data is the device's word only, so the match is exact, every
/// field compared must be known to the MDM, and the caller must also hold the <c>device: enroll</c> verb.
/// </summary>
public static class AutoEnrollment
{
    /// <summary>What the person at the device is told whatever the reason (the audit log has the real one).</summary>
    public const string Refused = "this device cannot enroll itself: ask an administrator for an enrollment token";

    /// <summary>Every field compared, in the order the checks run.</summary>
    public static IReadOnlyList<FieldMatch> Compare(MdmFacts mdm, ReportedFacts device) =>
    [
        Exact("serial number", mdm.SerialNumber, device.SerialNumber),
        Exact("OS", mdm.Os.ToText(), device.Os.ToText()),
        Exact("model", mdm.Model, device.Model),
        Exact("OS version", mdm.OsVersion, device.OsVersion),
        new("OS build", mdm.OsBuild, mdm.OsBuildSupplemental, device.OsBuild,
            mdm.OsBuild.Length > 0 && (device.OsBuild == mdm.OsBuild || mdm.OsBuildSupplemental.Length > 0 && device.OsBuild == mdm.OsBuildSupplemental)),
    ];

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
        var mdm = new MdmFacts(device.AssetTag, device.OsType, profile.ModelIdentifier, profile.OsVersion, profile.OsBuild, profile.OsBuildSupplemental);
        var reported = new ReportedFacts(data.SerialNumber, data.OsType, data.ModelIdentifier, data.OsVersion, data.OsBuild);
        return Compare(mdm, reported).FirstOrDefault(f => !f.Matches)?.Reason;
    }

    private static FieldMatch Exact(string field, string expected, string got) =>
        new(field, expected, "", got, expected.Length > 0 && string.Equals(expected, got, StringComparison.Ordinal));
}
