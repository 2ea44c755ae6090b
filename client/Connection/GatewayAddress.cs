using DeviceTrust.Core.Errors;

namespace DeviceTrust.Client.Connection;

/// <summary>"host:port" or "https://host:port" as users type it; always HTTPS.</summary>
public static class GatewayAddress
{
    public static Uri Parse(string proxy)
    {
        var text = proxy.Contains("://", StringComparison.Ordinal) ? proxy : "https://" + proxy;
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttps || uri.AbsolutePath != "/")
        {
            throw DeviceTrustException.InvalidArgument($"--proxy \"{proxy}\" is not host:port (the gateway speaks HTTPS only)");
        }
        return uri;
    }

    /// <summary>The form kept in profiles and shown to people: host:port.</summary>
    public static string Normalize(string proxy)
    {
        var uri = Parse(proxy);
        return $"{uri.Host}:{uri.Port}";
    }
}
