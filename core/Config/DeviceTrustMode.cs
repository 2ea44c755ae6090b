using DeviceTrust.Core.Errors;

namespace DeviceTrust.Core.Config;

/// <summary>How strictly access requires a trusted device. Cluster-wide or per role (roles use the first three).</summary>
public enum DeviceTrustMode
{
    Off,
    Optional,
    Required,
    RequiredForHumans,
}

public static class DeviceTrustModes
{
    public static string ToText(this DeviceTrustMode mode) => mode switch
    {
        DeviceTrustMode.Off => "off",
        DeviceTrustMode.Optional => "optional",
        DeviceTrustMode.Required => "required",
        DeviceTrustMode.RequiredForHumans => "required-for-humans",
        _ => throw new ArgumentOutOfRangeException(nameof(mode)),
    };

    public static bool TryParse(string? text, out DeviceTrustMode mode)
    {
        switch (text)
        {
            case "off": mode = DeviceTrustMode.Off; return true;
            case "optional": mode = DeviceTrustMode.Optional; return true;
            case "required": mode = DeviceTrustMode.Required; return true;
            case "required-for-humans": mode = DeviceTrustMode.RequiredForHumans; return true;
            default: mode = DeviceTrustMode.Required; return false; // unknown fails closed
        }
    }

    /// <summary>Parses a cluster mode; unknown text is an error naming the accepted values.</summary>
    public static DeviceTrustMode ParseClusterMode(string? text) =>
        TryParse(text, out var mode)
            ? mode
            : throw DeviceTrustException.InvalidArgument(
                $"unknown device trust mode \"{text}\": use off, optional, required or required-for-humans");

    /// <summary>
    /// The mode a stored value stands for. A value this version does not know (written by a newer version, or
    /// damaged) fails closed: required.
    /// </summary>
    public static DeviceTrustMode FailClosed(string? text) => TryParse(text, out var mode) ? mode : DeviceTrustMode.Required;
}
