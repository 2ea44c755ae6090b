using System.Net;

namespace DeviceTrust.Core.Audit;

/// <summary>A peer's address as the audit log writes it and as addresses are compared: IPv4 also when it arrived IPv4-mapped.</summary>
public static class PeerAddress
{
    public static string Text(IPAddress? address) =>
        address is null ? "" : address.IsIPv4MappedToIPv6 ? address.MapToIPv4().ToString() : address.ToString();
}
