using System.Collections.Concurrent;
using System.Net;
using DeviceTrust.Core.Audit;
using DeviceTrust.Gateway.Audit;
using Grpc.Core;
using Microsoft.AspNetCore.Connections;

namespace DeviceTrust.Gateway.Hosting;

/// <summary>
/// Kestrel caps connections in all, not per source: one host holding idle connections could take every slot. This
/// connection middleware (before TLS, so a handshake costs nothing) closes a connection at once when its source
/// address (an IPv4 address or an IPv6 /64) already holds <see cref="ConnectionOptions.MaxConnectionsPerAddress"/>.
/// </summary>
public sealed class ConnectionLimit(GatewayOptions options, SampledAudit refusals)
{
    private readonly ConcurrentDictionary<string, int> _open = new(StringComparer.Ordinal);

    /// <summary>The peer of the connection being set up, for what runs inside the TLS handshake (the certificate check).</summary>
    public static readonly AsyncLocal<IPAddress?> CurrentAddress = new();

    /// <summary>Connections now open from the source of <paramref name="address"/>.</summary>
    public int OpenFrom(IPAddress address) => _open.GetValueOrDefault(ClientAddress.LimitKey(address));

    public ConnectionDelegate Wrap(ConnectionDelegate next) => async connection =>
    {
        var address = (connection.RemoteEndPoint as IPEndPoint)?.Address;
        var key = ClientAddress.LimitKey(address);
        var open = _open.AddOrUpdate(key, 1, (_, count) => count + 1);
        try
        {
            if (open > options.Connections.MaxConnectionsPerAddress)
            {
                connection.Abort(new ConnectionAbortedException("too many connections from this address"));
                await refusals.RecordAsync(AuditCodes.ConnectionRefused, ClientAddress.Text(address), "", StatusCode.ResourceExhausted,
                    $"more than {options.Connections.MaxConnectionsPerAddress} open connections from {key}");
                return;
            }
            CurrentAddress.Value = address;
            await next(connection);
        }
        finally
        {
            if (_open.AddOrUpdate(key, 0, (_, count) => count - 1) <= 0)
            {
                _open.TryRemove(new KeyValuePair<string, int>(key, 0));
            }
        }
    };
}
