using System.Buffers;
using System.Net;
using DeviceTrust.Core.Audit;
using DeviceTrust.Core.Network;
using DeviceTrust.Gateway.Audit;
using Grpc.Core;
using Microsoft.AspNetCore.Connections;

namespace DeviceTrust.Gateway.Hosting;

/// <summary>
/// The PROXY protocol, for TCP load balancers in front of the gateway (<see cref="GatewayOptions.ProxyProtocolFrom"/>):
/// a connection middleware, first of all (before the per-address connection limit, so that counts clients, and
/// before TLS), that reads the header of a connection from a configured balancer and makes the client it names the
/// connection's peer. A connection from a balancer without a valid header within the handshake timeout is closed and
/// recorded (<c>connection.refused</c>, sampled); connections from anywhere else are left as they are.
/// </summary>
public sealed class ProxyProtocol(GatewayOptions options, SampledAudit refusals)
{
    private readonly IReadOnlyList<IPNetwork> _balancers = options.ProxyProtocolNetworks;

    public bool Enabled => _balancers.Count > 0;

    public ConnectionDelegate Wrap(ConnectionDelegate next) => async connection =>
    {
        var peer = (connection.RemoteEndPoint as IPEndPoint)?.Address;
        if (peer is null || !_balancers.Any(n => n.Contains(peer.IsIPv4MappedToIPv6 ? peer.MapToIPv4() : peer)))
        {
            await next(connection);
            return;
        }
        IPEndPoint? source;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(connection.ConnectionClosed);
            timeout.CancelAfter(options.Connections.HandshakeTimeout);
            source = await ReadHeaderAsync(connection, timeout.Token);
        }
        catch (Exception e) when (e is FormatException or OperationCanceledException or InvalidOperationException)
        {
            var reason = e is FormatException
                ? e.Message
                : $"no complete PROXY protocol header within {options.Connections.HandshakeTimeout.TotalSeconds:0} s";
            connection.Abort(new ConnectionAbortedException(reason));
            await refusals.RecordAsync(AuditCodes.ConnectionRefused, ClientAddress.Text(peer), "", StatusCode.InvalidArgument,
                $"a connection from load balancer {ClientAddress.Text(peer)} was closed: {reason}");
            return;
        }
        if (source is not null)
        {
            connection.RemoteEndPoint = source;
        }
        await next(connection);
    };

    private static async Task<IPEndPoint?> ReadHeaderAsync(ConnectionContext connection, CancellationToken cancellationToken)
    {
        var input = connection.Transport.Input;
        while (true)
        {
            var read = await input.ReadAsync(cancellationToken);
            var buffer = read.Buffer;
            if (Parse(buffer) is { } header)
            {
                input.AdvanceTo(buffer.GetPosition(header.Length));
                return header.Source;
            }
            if (read.IsCompleted)
            {
                throw new FormatException("the connection ended inside its PROXY protocol header");
            }
            input.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    private static ProxyHeaderResult? Parse(ReadOnlySequence<byte> buffer)
    {
        var length = (int)Math.Min(buffer.Length, ProxyHeader.MaxLength);
        Span<byte> head = length <= 256 ? stackalloc byte[length] : new byte[length];
        buffer.Slice(0, length).CopyTo(head);
        return ProxyHeader.TryParse(head);
    }
}
