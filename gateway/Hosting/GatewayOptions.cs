using System.Net;
using DeviceTrust.Core.Errors;
using Microsoft.Extensions.Configuration;

namespace DeviceTrust.Gateway.Hosting;

/// <summary>Gateway settings, under <c>DeviceTrust:Gateway:</c>.</summary>
public sealed class GatewayOptions
{
    public const string Section = "DeviceTrust:Gateway";

    /// <summary>Address and port of the HTTPS (HTTP/2 and HTTP/1.1) listener.</summary>
    public string Listen { get; set; } = "127.0.0.1:3025";

    /// <summary>Extra DNS names and IP addresses for the server certificate (the listen address and localhost are always in it).</summary>
    public List<string> PublicAddresses { get; set; } = [];

    /// <summary>Lifetime of user certificates when the client asks for none; also the most it may ask for.</summary>
    public TimeSpan CertificateTtl { get; set; } = TimeSpan.FromHours(12);

    /// <summary>How long the bootstrap invitation for <c>admin</c> stays valid.</summary>
    public TimeSpan BootstrapInviteTtl { get; set; } = TimeSpan.FromHours(24);

    /// <summary>How stale cached users and roles may be on the hot path.</summary>
    public TimeSpan PolicyCacheTtl { get; set; } = TimeSpan.FromSeconds(2);

    public IPEndPoint ListenEndPoint =>
        IPEndPoint.TryParse(Listen, out var endPoint) && endPoint.Port != 0
            ? endPoint
            : throw DeviceTrustException.InvalidArgument($"DeviceTrust:Gateway:Listen \"{Listen}\" is not an address:port");

    public static GatewayOptions From(IConfiguration configuration)
    {
        var options = new GatewayOptions();
        configuration.GetSection(Section).Bind(options);
        _ = options.ListenEndPoint;
        if (options.CertificateTtl <= TimeSpan.Zero)
        {
            throw DeviceTrustException.InvalidArgument("DeviceTrust:Gateway:CertificateTtl must be positive");
        }
        return options;
    }
}
