using System.Security.Cryptography.X509Certificates;
using DeviceTrust.Client.Profiles;
using Grpc.Net.Client;

namespace DeviceTrust.Client.Connection;

/// <summary>
/// gRPC channels to a gateway. The server is trusted only if its certificate chains to the cluster CA we hold
/// (custom root trust, host name checked; the OS store plays no part). Anonymous calls go on a channel without a
/// client certificate, because the gateway closes the whole connection on a certificate it rejects.
/// </summary>
public static class GatewayChannel
{
    public static GrpcChannel Anonymous(string proxy, X509Certificate2 ca) => Create(proxy, ca, null);

    public static GrpcChannel ForProfile(Profile profile) => Create(profile.Proxy, profile.Ca, profile.CertificateWithKey());

    public static GrpcChannel Create(string proxy, X509Certificate2 ca, X509Certificate2? clientCertificate)
    {
        var handler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true };
        var policy = new X509ChainPolicy
        {
            TrustMode = X509ChainTrustMode.CustomRootTrust,
            RevocationMode = X509RevocationMode.NoCheck,
            DisableCertificateDownloads = true,
        };
        policy.CustomTrustStore.Add(ca);
        handler.SslOptions.CertificateChainPolicy = policy;
        if (clientCertificate is not null)
        {
            handler.SslOptions.ClientCertificates = [clientCertificate];
        }
        return GrpcChannel.ForAddress(GatewayAddress.Parse(proxy), new GrpcChannelOptions { HttpHandler = handler, DisposeHttpClient = true });
    }
}
