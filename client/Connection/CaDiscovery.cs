using System.Security.Cryptography.X509Certificates;
using DeviceTrust.Core.Certificates;
using DeviceTrust.Core.Errors;
using DeviceTrust.Proto.V1;
using Grpc.Net.Client;

namespace DeviceTrust.Client.Connection;

/// <summary>
/// Gets the cluster CA certificate for a pin the user already holds (from an invitation or --ca-pin). The gateway
/// does not send its root in the TLS handshake, so the CA is asked for over a connection that is not trusted yet:
/// nothing is sent on it but this request, and the answer is accepted only if its key hashes to the pin. Every
/// later connection is verified against that CA.
/// </summary>
public static class CaDiscovery
{
    /// <summary>
    /// From the first of the gateways (<c>host:port</c>, or several separated by commas) that answers; a gateway
    /// whose CA does not match the pin stops the search with that error.
    /// </summary>
    public static async Task<X509Certificate2> FetchPinnedAsync(string proxy, string pin, CancellationToken cancellationToken)
    {
        CaPin.Parse(pin);
        var gateways = GatewayAddress.ParseAll(proxy);
        for (var i = 0; ; i++)
        {
            try
            {
                return await FetchFromAsync($"{gateways[i].Host}:{gateways[i].Port}", pin, cancellationToken);
            }
            catch (Grpc.Core.RpcException e) when (e.StatusCode is Grpc.Core.StatusCode.Unavailable or Grpc.Core.StatusCode.DeadlineExceeded
                                                   && i < gateways.Count - 1 && !cancellationToken.IsCancellationRequested)
            {
                // that gateway is down: ask the next
            }
        }
    }

    private static async Task<X509Certificate2> FetchFromAsync(string proxy, string pin, CancellationToken cancellationToken)
    {
        using var handler = new SocketsHttpHandler();
        X509Certificate2? presented = null;
        // Not trusted yet, on purpose: the server certificate is kept and checked against the pinned CA below,
        // before anything but this one request has been sent.
#pragma warning disable CA5359
        handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, _) =>
        {
            presented = certificate is null ? null : X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
            return true;
        };
#pragma warning restore CA5359
        using var channel = GrpcChannel.ForAddress(GatewayAddress.Parse(proxy), new GrpcChannelOptions { HttpHandler = handler });
        var info = await new AuthService.AuthServiceClient(channel)
            .GetClusterInfoAsync(new GetClusterInfoRequest(), deadline: DateTime.UtcNow.AddSeconds(30), cancellationToken: cancellationToken);
        X509Certificate2 ca;
        try
        {
            ca = X509CertificateLoader.LoadCertificate(info.CaCertificateDer.Span);
        }
        catch (System.Security.Cryptography.CryptographicException)
        {
            throw DeviceTrustException.FailedPrecondition($"the server at {proxy} sent no valid CA certificate: is it a DeviceTrust gateway?");
        }
        if (!CaPin.Matches(ca, pin) && info.OtherCaPin.Length > 0 && string.Equals(info.OtherCaPin, pin, StringComparison.OrdinalIgnoreCase))
        {
            throw DeviceTrustException.FailedPrecondition(
                $"the pin {pin.ToLowerInvariant()} names the other cluster CA of a rotation under way at {proxy}, not the one the gateway uses now ({CaPin.Of(ca)}): " +
                "an invitation or join token made before the rotation switched no longer works, so ask for a new one; a pin you were given: use the one the gateway uses now");
        }
        if (!CaPin.Matches(ca, pin))
        {
            throw DeviceTrustException.PermissionDenied(
                $"the cluster CA of {proxy} does not match the pin: expected {pin.ToLowerInvariant()}, the server has {CaPin.Of(ca)}. " +
                "Check the address; someone may be impersonating the gateway.");
        }
        if (presented is null || !ChainsTo(presented, ca))
        {
            throw DeviceTrustException.PermissionDenied(
                $"the TLS certificate of {proxy} was not issued by the pinned cluster CA: someone may be relaying the gateway");
        }
        return ca;
    }

    private static bool ChainsTo(X509Certificate2 leaf, X509Certificate2 ca)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.DisableCertificateDownloads = true;
        chain.ChainPolicy.ApplicationPolicy.Add(new System.Security.Cryptography.Oid(CertificateAuthority.ServerAuthOid));
        return chain.Build(leaf) && chain.ChainElements[^1].Certificate.RawData.AsSpan().SequenceEqual(ca.RawData);
    }
}
