using System.Net;
using System.Net.Sockets;
using Grpc.Core;

namespace DeviceTrust.Gateway.Audit;

/// <summary>Where a call comes from, as the audit log records it and as rate limits group it.</summary>
public static class ClientAddress
{
    /// <summary>The peer address as text: IPv4 as a.b.c.d (also when it arrived IPv4-mapped), IPv6 as IPv6.</summary>
    public static string Of(ServerCallContext context) => Text(context.GetHttpContext().Connection.RemoteIpAddress);

    public static string Text(IPAddress? address) => Core.Audit.PeerAddress.Text(address);

    /// <summary>
    /// The unit a rate limit counts: one IPv4 address, or one IPv6 /64 (a single host usually holds a whole /64, so
    /// per-address limits on IPv6 would let it rotate through 2^64 addresses).
    /// </summary>
    public static string LimitKey(IPAddress? address)
    {
        if (address is null)
        {
            return "unknown";
        }
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }
        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return address.ToString();
        }
        var bytes = address.GetAddressBytes();
        Array.Clear(bytes, 8, 8);
        return new IPAddress(bytes) + "/64";
    }
}
