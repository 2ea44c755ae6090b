using System.Globalization;
using System.Net;
using DeviceTrust.Core.Errors;
using DeviceTrust.Core.Users;

namespace DeviceTrust.Core.Nodes;

/// <summary>
/// Where clients reach a node (<c>host:port</c>) and the names its host certificate lists: DNS names or IP
/// addresses only, since they end up as certificate principals and as the host dtsh hands to ssh.
/// </summary>
public static class NodeAddress
{
    public const int MaxHostNames = 16;

    public static bool IsHostName(string name)
    {
        if (name.Length is 0 or > 253)
        {
            return false;
        }
        if (IPAddress.TryParse(name, out _))
        {
            return !name.Contains('%');
        }
        return name.Split('.').All(label => label.Length is > 0 and <= 63 && label[0] != '-' && label[^1] != '-'
                                            && label.All(c => char.IsAsciiLetterOrDigit(c) || c == '-'));
    }

    /// <summary><c>host:port</c> or <c>[v6]:port</c>, normalized to lower case; the port is 1 to 65535.</summary>
    public static (string Host, int Port) Parse(string? address, string field)
    {
        var text = address?.Trim() ?? "";
        var colon = text.LastIndexOf(':');
        var (host, port) = colon <= 0 ? (text, "") : (text[..colon], text[(colon + 1)..]);
        if (host.StartsWith('[') && host.EndsWith(']'))
        {
            host = host[1..^1];
        }
        if (!IsHostName(host) || !int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out var number) || number is < 1 or > 65535)
        {
            throw DeviceTrustException.InvalidArgument($"{field} \"{UserName.Printable(text)}\" is not host:port (a DNS name or an IP address, and a port)");
        }
        return (host.ToLowerInvariant(), number);
    }

    public static string Format(string host, int port) => host.Contains(':') ? $"[{host}]:{port}" : $"{host}:{port}";

    public static IReadOnlyList<string> HostNames(IEnumerable<string> names)
    {
        var list = new List<string>();
        foreach (var name in names)
        {
            if (!IsHostName(name))
            {
                throw DeviceTrustException.InvalidArgument($"host name \"{UserName.Printable(name)}\" is not a DNS name or an IP address");
            }
            var lower = name.ToLowerInvariant();
            if (!list.Contains(lower))
            {
                list.Add(lower);
            }
            if (list.Count > MaxHostNames)
            {
                throw DeviceTrustException.InvalidArgument($"a node has at most {MaxHostNames} host names");
            }
        }
        return list;
    }
}
