using DeviceTrust.Core.Errors;

namespace DeviceTrust.Client.Connection;

/// <summary>
/// "host:port" or "https://host:port" as users type it; always HTTPS. Several gateways of one cluster are
/// separated by commas (<c>gw1:3025,gw2:3025</c>).
/// </summary>
public static class GatewayAddress
{
    public const int MaxGateways = 16;

    public static Uri Parse(string proxy)
    {
        var text = proxy.Contains("://", StringComparison.Ordinal) ? proxy : "https://" + proxy;
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttps || uri.AbsolutePath != "/")
        {
            throw DeviceTrustException.InvalidArgument($"--proxy \"{proxy}\" is not host:port (the gateway speaks HTTPS only)");
        }
        return uri;
    }

    /// <summary>Every gateway of a comma-separated list, in the order given.</summary>
    public static IReadOnlyList<Uri> ParseAll(string proxies)
    {
        var parts = proxies.Split(',', StringSplitOptions.TrimEntries);
        if (parts.Length > MaxGateways || parts.Any(p => p.Length == 0))
        {
            throw DeviceTrustException.InvalidArgument(
                $"--proxy \"{proxies}\" is not host:port, or up to {MaxGateways} of them separated by commas");
        }
        return parts.Select(Parse).ToList();
    }

    /// <summary>The form kept in profiles and shown to people: host:port (comma-separated when several).</summary>
    public static string Normalize(string proxy) => string.Join(",", ParseAll(proxy).Select(uri => $"{uri.Host}:{uri.Port}"));
}
