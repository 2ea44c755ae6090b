using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using DeviceTrust.Client.Profiles;
using DeviceTrust.Core.Certificates;
using Grpc.Net.Client;

namespace DeviceTrust.Client.Connection;

/// <summary>
/// gRPC channels to a gateway. The server is trusted only if its certificate chains to the cluster CA we hold
/// (custom root trust, server authentication usage, host name checked; the OS store plays no part). Anonymous
/// calls go on a channel without a client certificate, because the gateway closes the whole connection on a
/// certificate it rejects.
/// </summary>
/// <remarks>
/// Given several gateways (<c>host:port,host:port</c>), a channel opens each new connection to the next gateway that
/// accepts one, starting at a random one: when a gateway dies, the calls in flight on it fail (Unavailable) and the
/// next call connects to another. The certificate is then checked for <see cref="CertificateAuthority.AnyGatewayName"/>,
/// which every gateway of the cluster carries. A DNS name with several addresses works as well: each connection
/// tries them in turn.
/// </remarks>
public static class GatewayChannel
{
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(5);

    public static GrpcChannel Anonymous(string proxy, X509Certificate2 ca) => Create(proxy, [ca], null);

    public static GrpcChannel Anonymous(string proxy, IReadOnlyList<X509Certificate2> cas) => Create(proxy, cas, null);

    public static GrpcChannel ForProfile(Profile profile) => Create(profile.Proxy, profile.TrustedCas, profile.CertificateWithKey());

    /// <param name="localAddress">Connect from this local address (the load test and the tests simulate many sources with 127.0.0.x).</param>
    public static GrpcChannel Create(string proxy, X509Certificate2 ca, X509Certificate2? clientCertificate, IPAddress? localAddress = null) =>
        Create(proxy, [ca], clientCertificate, localAddress);

    /// <summary>As above, trusting the server's certificate from any of <paramref name="cas"/> (two during a CA rotation).</summary>
    public static GrpcChannel Create(string proxy, IReadOnlyList<X509Certificate2> cas, X509Certificate2? clientCertificate, IPAddress? localAddress = null)
    {
        var gateways = GatewayAddress.ParseAll(proxy);
        var handler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true };
        var next = RandomNumberGenerator.GetInt32(gateways.Count);
        handler.ConnectCallback = async (context, cancellationToken) =>
        {
            if (gateways.Count == 1)
            {
                return await ConnectAsync(context.DnsEndPoint, localAddress, cancellationToken);
            }
            var failures = new List<Exception>();
            for (var tried = 0; tried < gateways.Count; tried++)
            {
                var gateway = gateways[(int)((uint)Interlocked.Increment(ref next) % (uint)gateways.Count)];
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(ConnectTimeout);
                try
                {
                    return await ConnectAsync(new DnsEndPoint(gateway.Host, gateway.Port), localAddress, timeout.Token);
                }
                catch (Exception e) when (e is SocketException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
                {
                    failures.Add(new IOException($"{gateway.Host}:{gateway.Port}: {e.Message}", e));
                }
            }
            throw new AggregateException($"no gateway of {proxy} accepted a connection", failures);
        };
        var policy = new X509ChainPolicy
        {
            TrustMode = X509ChainTrustMode.CustomRootTrust,
            RevocationMode = X509RevocationMode.NoCheck,
            DisableCertificateDownloads = true,
        };
        policy.CustomTrustStore.AddRange(cas.ToArray());
        policy.ApplicationPolicy.Add(new Oid(CertificateAuthority.ServerAuthOid));
        handler.SslOptions.CertificateChainPolicy = policy;
        if (clientCertificate is not null)
        {
            handler.SslOptions.ClientCertificates = [clientCertificate];
        }
        // One gateway: its own address is the name checked. Several: the name every gateway of the cluster carries
        // (connections go to the address the callback picks, whatever the URI says).
        var address = gateways.Count == 1 ? gateways[0] : new UriBuilder("https", CertificateAuthority.AnyGatewayName, gateways[0].Port).Uri;
        return GrpcChannel.ForAddress(address, new GrpcChannelOptions { HttpHandler = handler, DisposeHttpClient = true });
    }

    /// <summary>A TCP connection (every address of a DNS name in turn), from <paramref name="localAddress"/> when given.</summary>
    private static async ValueTask<Stream> ConnectAsync(DnsEndPoint endPoint, IPAddress? localAddress, CancellationToken cancellationToken)
    {
        var socket = localAddress is null
            ? new Socket(SocketType.Stream, ProtocolType.Tcp)
            : new Socket(localAddress.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        socket.NoDelay = true;
        try
        {
            if (localAddress is not null)
            {
                socket.Bind(new IPEndPoint(localAddress, 0));
            }
            await socket.ConnectAsync(endPoint, cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
