using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using DeviceTrust.Core.Access;
using DeviceTrust.Core.Audit;
using DeviceTrust.Core.Devices;
using DeviceTrust.Core.Errors;
using DeviceTrust.Core.Nodes;
using DeviceTrust.Core.Roles;
using DeviceTrust.Gateway.Audit;
using DeviceTrust.Gateway.Authentication;
using DeviceTrust.Gateway.Policy;

namespace DeviceTrust.Gateway.Proxies;

/// <summary>
/// <c>GET /v1/access/app</c>: the access decision for a web app behind a proxy, in the form nginx's
/// <c>auth_request</c> wants. The proxy calls with its own client certificate (a user whose roles allow
/// <c>access: read</c>) and forwards what it verified: the user's certificate (<c>X-DeviceTrust-Client-Cert</c>, the
/// URL-escaped PEM nginx has in <c>$ssl_client_escaped_cert</c>), the app's name (<c>X-DeviceTrust-App</c>) and
/// labels (<c>X-DeviceTrust-App-Labels</c>, <c>env=prod,team=web</c>). 200 when allowed; 401 when the user's
/// certificate is missing or not a live one of this cluster; 403 when denied. The reason is in
/// <c>X-DeviceTrust-Reason</c> and the body.
/// </summary>
public sealed class ProxyAccessEndpoint(
    CertificateUsers certificates,
    IdentityCache identities,
    AccessChecker checker,
    SampledAudit refusals,
    PresentedCertificates presented)
{
    public const string Path = "/v1/access/app";
    public const string CertificateHeader = "X-DeviceTrust-Client-Cert";
    public const string AppHeader = "X-DeviceTrust-App";
    public const string LabelsHeader = "X-DeviceTrust-App-Labels";
    public const string ReasonHeader = "X-DeviceTrust-Reason";

    /// <summary>A URL-escaped PEM certificate of 8 KiB DER is about 15 KB; nothing larger is read.</summary>
    private const int MaxEscapedCertificate = 24 * 1024;

    public async Task<IResult> HandleAsync(HttpContext http)
    {
        var clientIp = ClientAddress.Text(http.Connection.RemoteIpAddress);
        // The proxy itself: a live user of this cluster allowed to ask about others.
        Caller proxy;
        try
        {
            var own = http.Connection.ClientCertificate
                      ?? throw DeviceTrustException.Unauthenticated("the proxy presented no client certificate: configure proxy_ssl_certificate");
            proxy = await certificates.ResolveAsync(own, verifyChain: false, whose: "the proxy's");
            if (!await identities.AllowsAsync(proxy.User, Resources.Access, "read"))
            {
                throw DeviceTrustException.PermissionDenied($"the proxy's user \"{proxy.Name}\" may not read access decisions (it needs a role with access: [read])");
            }
        }
        catch (DeviceTrustException e)
        {
            await refusals.RecordAsync(AuditCodes.AccessCheck, clientIp, "", e.Kind == ErrorKind.Unauthenticated ? Grpc.Core.StatusCode.Unauthenticated :
                Grpc.Core.StatusCode.PermissionDenied, e.Message);
            // Not the user's fault, but fail closed all the same; nginx answers the client 500 for this status.
            return Answer(http, StatusCodes.Status502BadGateway, e.Message);
        }

        Core.Access.AccessResource resource;
        try
        {
            var name = DeviceFields.Text(http.Request.Headers[AppHeader].ToString(), AppHeader);
            if (name.Length == 0)
            {
                throw DeviceTrustException.InvalidArgument($"{AppHeader} is required: the app's name");
            }
            resource = new Core.Access.AccessResource(ResourceKind.App, name, NodeLabels.Parse(http.Request.Headers[LabelsHeader].ToString()));
        }
        catch (DeviceTrustException e)
        {
            await refusals.RecordAsync(AuditCodes.MalformedRequest, clientIp, proxy.Name, Grpc.Core.StatusCode.InvalidArgument, e.Message);
            return Answer(http, StatusCodes.Status502BadGateway, "the proxy's request is malformed: " + e.Message);
        }

        Caller user;
        try
        {
            user = await certificates.ResolveAsync(Presented(http.Request.Headers[CertificateHeader].ToString()), verifyChain: true, whose: "your");
        }
        catch (DeviceTrustException e)
        {
            await checker.RefuseAsync("", resource, e.Message, clientIp);
            return Answer(http, StatusCodes.Status401Unauthorized, e.Message);
        }
        var decision = await checker.DecideAsync(user.User, user.Device, resource, clientIp);
        if (!decision.Allowed)
        {
            return Answer(http, StatusCodes.Status403Forbidden, decision.Reason);
        }
        http.Response.Headers["X-DeviceTrust-User"] = user.Name;
        return Answer(http, StatusCodes.Status200OK, "");
    }

    private X509Certificate2 Presented(string escaped)
    {
        if (escaped.Length == 0)
        {
            throw DeviceTrustException.Unauthenticated("no client certificate: present the certificate from dtsh login");
        }
        if (escaped.Length > MaxEscapedCertificate)
        {
            throw DeviceTrustException.Unauthenticated("the client certificate is too large");
        }
        // Forwarded certificates are parsed once per distinct header: proxies send the same few over and over.
        return presented.Get(Encoding.UTF8.GetBytes(escaped), () =>
        {
            try
            {
                return X509Certificate2.CreateFromPem(Uri.UnescapeDataString(escaped));
            }
            catch (Exception e) when (e is CryptographicException or ArgumentException or UriFormatException)
            {
                throw DeviceTrustException.Unauthenticated("the client certificate is not a PEM certificate");
            }
        });
    }

    private static IResult Answer(HttpContext http, int status, string reason)
    {
        if (reason.Length > 0)
        {
            // A header value is one line of visible ASCII.
            http.Response.Headers[ReasonHeader] = new string(reason.Select(c => c is >= ' ' and <= '~' ? c : '?').ToArray());
        }
        http.Response.Headers.CacheControl = "no-store";
        return Results.Text(reason.Length > 0 ? reason + "\n" : "", "text/plain; charset=utf-8", statusCode: status);
    }
}
