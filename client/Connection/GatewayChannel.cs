using System.Net;
using System.Net.Sockets;
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

    /// <param name="localAddress">Connect from this local address (the load test and the tests simulate many sources with 127.0.0.x).</param>
    public static GrpcChannel Create(string proxy, X509Certificate2 ca, X509Certificate2? clientCertificate, IPAddress? localAddress = null)
    {
        var handler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true };
        if (localAddress is not null)
        {
            handler.ConnectCallback = async (context, cancellationToken) =>
            {
                var socket = new Socket(localAddress.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    socket.Bind(new IPEndPoint(localAddress, 0));
                    await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            };
        }
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
