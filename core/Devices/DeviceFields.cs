using DeviceTrust.Core.Errors;

namespace DeviceTrust.Core.Devices;

/// <summary>Caps and shapes of device fields from the network, checked before anything reaches a grain.</summary>
public static class DeviceFields
{
    public const int MaxAssetTag = 120;
    public const int MaxCredentialId = 64;
    public const int MaxDataField = 256;
    public const int MaxPublicKey = 512;
    public const int MaxSignature = 256;

    /// <summary>Asset tags are serial numbers: printable, no spaces or control characters, at most 120.</summary>
    public static string AssetTag(string? tag)
    {
        if (string.IsNullOrEmpty(tag))
        {
            throw DeviceTrustException.InvalidArgument("asset_tag is required");
        }
        if (tag.Length > MaxAssetTag)
        {
            throw DeviceTrustException.InvalidArgument($"asset_tag is longer than {MaxAssetTag} characters");
        }
        if (!tag.All(c => c > ' ' && c < 0x7F))
        {
            throw DeviceTrustException.InvalidArgument("asset_tag may hold printable ASCII only, without spaces");
        }
        return tag;
    }

    /// <summary>An asset tag as sent, cut to <see cref="MaxAssetTag"/>: to name a refused item in an answer without echoing a huge string.</summary>
    public static string Clipped(string tag) => tag.Length <= MaxAssetTag ? tag : tag[..MaxAssetTag];

    public static string CredentialId(string? id)
    {
        if (string.IsNullOrEmpty(id))
        {
            throw DeviceTrustException.InvalidArgument("credential_id is required");
        }
        if (id.Length > MaxCredentialId)
        {
            throw DeviceTrustException.InvalidArgument($"credential_id is longer than {MaxCredentialId} characters");
        }
        if (!id.All(c => c > ' ' && c < 0x7F))
        {
            throw DeviceTrustException.InvalidArgument("credential_id may hold printable ASCII only");
        }
        return id;
    }

    public static Guid DeviceId(string? id) =>
        Guid.TryParseExact(id, "D", out var guid) && guid != Guid.Empty
            ? guid
            : throw DeviceTrustException.InvalidArgument("device_id must be a device id (a UUID such as 3f2c7a4e-…)");

    /// <summary>Any other reported string: bounded, no control characters.</summary>
    public static string Text(string? value, string field)
    {
        value ??= "";
        if (value.Length > MaxDataField)
        {
            throw DeviceTrustException.InvalidArgument($"{field} is longer than {MaxDataField} characters");
        }
        if (value.Any(char.IsControl))
        {
            throw DeviceTrustException.InvalidArgument($"{field} contains control characters");
        }
        return value;
    }
}
