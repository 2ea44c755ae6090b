using DeviceTrust.Core.Errors;
using DeviceTrust.Core.Secrets;

namespace DeviceTrust.Client.Devices;

/// <summary>
/// The <c>devicetrust://web-authenticate?cluster=NAME&amp;token=TOKEN</c> address the web console hands to dtsh. It
/// may come from anywhere (a browser hands any page's link to its handler), so it is parsed strictly and bounded:
/// dtsh only ever sends the token to the gateway of its own profile, and refuses an address for another cluster.
/// </summary>
public sealed record DeviceWebAddress(string Cluster, string Token)
{
    public const string Scheme = "devicetrust";
    private const int MaxLength = 1024;

    public static DeviceWebAddress Parse(string? text)
    {
        const string Expected = "expected the devicetrust://web-authenticate?cluster=…&token=… address the web console shows";
        if (text is null || text.Length > MaxLength || !Uri.TryCreate(text.Trim(), UriKind.Absolute, out var uri)
            || uri.Scheme != Scheme || uri.Host != "web-authenticate" || uri.AbsolutePath is not ("" or "/") || uri.UserInfo.Length > 0 || !uri.IsDefaultPort)
        {
            throw DeviceTrustException.InvalidArgument($"not a device web authentication address: {Expected}");
        }
        string? cluster = null, token = null;
        foreach (var pair in uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var (name, value) = pair.IndexOf('=') is var at and > 0 ? (pair[..at], Uri.UnescapeDataString(pair[(at + 1)..])) : (pair, "");
            switch (name)
            {
                case "cluster" when cluster is null:
                    cluster = value;
                    break;
                case "token" when token is null:
                    token = value;
                    break;
                default:
                    throw DeviceTrustException.InvalidArgument($"the device web authentication address has an unexpected or repeated \"{name}\": {Expected}");
            }
        }
        if (string.IsNullOrEmpty(cluster) || !SecretToken.LooksValid(token))
        {
            throw DeviceTrustException.InvalidArgument($"the device web authentication address lacks its cluster or its token, or the token is malformed: {Expected}");
        }
        return new DeviceWebAddress(cluster, token!);
    }
}
