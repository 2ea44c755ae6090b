using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using DeviceTrust.Client.Connection;
using DeviceTrust.Client.Profiles;
using DeviceTrust.Testing;

namespace DeviceTrust.EndToEnd.Tests;

/// <summary>
/// A gateway of its own with a short keep-alive timeout; the connection limits are otherwise the defaults. The timeout
/// is long enough that all the test's connections are made (on a loaded machine too) before the first is closed as idle.
/// </summary>
public sealed class ConnectionCluster() : GatewayCluster("dt-e2e-connections", new Dictionary<string, string?>
{
    ["DeviceTrust__Gateway__Connections__KeepAliveTimeout"] = "00:00:10",
    ["DeviceTrust__Gateway__Connections__HandshakeTimeout"] = "00:00:05",
});

/// <summary>Idle connections cannot crowd people out: one source holds at most its share, and idle ones are closed.</summary>
public sealed class ConnectionLimitTests(ConnectionCluster cluster) : IClassFixture<ConnectionCluster>
{
    private GatewayProcess Gateway => cluster.Gateway;
    private Cli Admin => cluster.Admin;

    /// <summary>A TLS connection from <paramref name="source"/> that sends nothing after its handshake; null if the gateway closed it first.</summary>
    private async Task<SslStream?> IdleAsync(IPAddress source)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        SslStream? tls = null;
        try
        {
            socket.Bind(new IPEndPoint(source, 0));
            await socket.ConnectAsync(IPAddress.Loopback, Gateway.Port);
            tls = new SslStream(new NetworkStream(socket, ownsSocket: true));
            await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = "127.0.0.1",
                ApplicationProtocols = [SslApplicationProtocol.Http2],
                // the gateway's certificate is not what this test is about; any certificate of our CA does
                RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate?.Issuer.Contains("DeviceTrust", StringComparison.Ordinal) == true,
            });
            return tls;
        }
        catch (Exception e) when (e is IOException or SocketException or System.Security.Authentication.AuthenticationException)
        {
            if (tls is not null)
            {
                await tls.DisposeAsync();
            }
            socket.Dispose();
            return null;
        }
    }

    private static async Task<bool> ClosedAsync(SslStream connection)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
            return await connection.ReadAsync(new byte[64], timeout.Token) == 0 || !connection.CanRead;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
        catch (IOException)
        {
            return true;
        }
    }

    [Fact]
    public async Task A_person_still_gets_in_while_300_idle_connections_are_held_and_idle_ones_are_closed()
    {
        var attacker = IPAddress.Parse("127.0.0.90");
        var held = new List<SslStream>();
        try
        {
            // in small parallel batches: quick enough that none of them has been idle for the keep-alive timeout yet
            for (var batch = 0; batch < 300 / 20; batch++)
            {
                var made = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => IdleAsync(attacker)));
                held.AddRange(made.OfType<SslStream>());
            }
            // the source's share is 256; what came after was closed before its handshake
            Assert.Equal(256, held.Count);

            // someone at another machine logs in and works as usual
            (await Admin.DtshWithInput("admin password 1234\n", "login", "--user", "admin")).Succeeded();
            (await Admin.Dtctl("users", "ls")).Succeeded();

            using var audit = GatewayChannel.ForProfile(new ProfileStore(Admin.Home).Load()!);
            var refused = await AuditTrail.LastAsync(audit, "connection.refused", e => e.ClientIp == "127.0.0.90");
            AuditTrail.IsRefusal(refused, Grpc.Core.StatusCode.ResourceExhausted, "more than 256 open connections from 127.0.0.90");

            // idle connections do not stay: after the keep-alive timeout the gateway has closed them
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            var open = held.Count;
            while (open > 0 && DateTime.UtcNow < deadline)
            {
                await Task.Delay(1000);
                var results = await Task.WhenAll(held.Select(ClosedAsync));
                open = results.Count(closed => !closed);
            }
            Assert.Equal(0, open);
        }
        finally
        {
            foreach (var connection in held)
            {
                await connection.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task The_metrics_port_that_needs_no_certificate_counts_against_the_same_share()
    {
        var attacker = IPAddress.Parse("127.0.0.91");
        var held = new List<Socket>();
        var closed = 0;
        try
        {
            for (var batch = 0; batch < 270 / 30; batch++)
            {
                foreach (var made in await Task.WhenAll(Enumerable.Range(0, 30).Select(async _ =>
                         {
                             var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                             socket.Bind(new IPEndPoint(attacker, 0));
                             try
                             {
                                 await socket.ConnectAsync(IPAddress.Loopback, Gateway.MetricsPort);
                                 return socket;
                             }
                             catch (SocketException)
                             {
                                 // reset as it was accepted: beyond the share
                                 socket.Dispose();
                                 return null;
                             }
                         })))
                {
                    if (made is null)
                    {
                        closed++;
                    }
                    else
                    {
                        held.Add(made);
                    }
                }
            }
            // the gateway closes what is beyond the source's share of 256 at once (a read sees the end, or a reset);
            // all looked at together, well before the idle timeouts close the others
            var ended = await Task.WhenAll(held.Select(async socket =>
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromMilliseconds(500));
                try
                {
                    return await socket.ReceiveAsync(new byte[16], SocketFlags.None, timeout.Token) == 0;
                }
                catch (OperationCanceledException)
                {
                    return false;
                }
                catch (SocketException)
                {
                    return true;
                }
            }));
            closed += ended.Count(e => e);
            Assert.Equal(270 - 256, closed);
            using var audit = GatewayChannel.ForProfile(new ProfileStore(Admin.Home).Load()!);
            AuditTrail.IsRefusal(await AuditTrail.LastAsync(audit, "connection.refused", e => e.ClientIp == "127.0.0.91"),
                Grpc.Core.StatusCode.ResourceExhausted, "more than 256 open connections from 127.0.0.91");
            // and a scraper elsewhere is served
            using var scraper = new HttpClient();
            Assert.Equal(HttpStatusCode.OK, (await scraper.GetAsync($"http://127.0.0.1:{Gateway.MetricsPort}/metrics")).StatusCode);
        }
        finally
        {
            foreach (var socket in held)
            {
                socket.Dispose();
            }
        }
    }
}
