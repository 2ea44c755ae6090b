using System.Buffers.Binary;
using System.Net;
using System.Text;

namespace DeviceTrust.Core.Network;

/// <summary>What a complete PROXY protocol header said.</summary>
/// <param name="Length">Its length in bytes: what to skip before the connection's own first byte.</param>
/// <param name="Source">The client it names; null for a proxy's own connection (v2 <c>LOCAL</c>, v1 <c>UNKNOWN</c>).</param>
public sealed record ProxyHeaderResult(int Length, IPEndPoint? Source);

/// <summary>
/// The PROXY protocol header a TCP load balancer (HAProxy's <c>send-proxy</c>, nginx's <c>proxy_protocol</c>, AWS
/// NLB, …) puts before the connection's first byte to name the client: version 1 (one text line) and version 2
/// (binary). Only TCP over IPv4 or IPv6 is taken; anything else, or anything malformed, is refused with the reason,
/// never guessed at. Bounded: a header longer than <see cref="MaxLength"/> is refused before it is read.
/// </summary>
public static class ProxyHeader
{
    /// <summary>The longest header taken: a v2 header with up to 2 KiB of TLVs (v1 lines are at most 107 bytes).</summary>
    public const int MaxLength = 16 + 2048;

    private const int MaxV1Length = 107;
    private static readonly byte[] V1Prefix = "PROXY "u8.ToArray();
    private static readonly byte[] V2Signature = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A];

    /// <summary>
    /// Reads the header at the start of <paramref name="data"/>: the result when it is complete, null when more bytes
    /// are needed. Throws <see cref="FormatException"/> with the reason when it cannot be a valid header.
    /// </summary>
    public static ProxyHeaderResult? TryParse(ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty)
        {
            return null;
        }
        if (data[0] == V2Signature[0])
        {
            return TryParseV2(data);
        }
        if (data[0] == V1Prefix[0])
        {
            return TryParseV1(data);
        }
        throw new FormatException("the connection does not start with a PROXY protocol header");
    }

    private static ProxyHeaderResult? TryParseV1(ReadOnlySpan<byte> data)
    {
        var prefix = Math.Min(data.Length, V1Prefix.Length);
        if (!data[..prefix].SequenceEqual(V1Prefix.AsSpan(0, prefix)))
        {
            throw new FormatException("the connection does not start with a PROXY protocol header");
        }
        var end = data[..Math.Min(data.Length, MaxV1Length)].IndexOf("\r\n"u8);
        if (end < 0)
        {
            return data.Length >= MaxV1Length
                ? throw new FormatException($"PROXY v1 header: no CRLF within {MaxV1Length} bytes")
                : null;
        }
        var line = data[..end];
        if (line.ContainsAnyExceptInRange((byte)0x20, (byte)0x7E))
        {
            throw new FormatException("PROXY v1 header: a byte that is not printable ASCII");
        }
        var fields = Encoding.ASCII.GetString(line).Split(' ');
        var length = end + 2;
        if (fields.Length >= 2 && fields[1] == "UNKNOWN")
        {
            // A proxy's own connection (a health check): the rest of the line is to be ignored.
            return new ProxyHeaderResult(length, null);
        }
        if (fields.Length != 6)
        {
            throw new FormatException("PROXY v1 header: want \"PROXY TCP4|TCP6 SOURCE DESTINATION SOURCE-PORT DESTINATION-PORT\"");
        }
        var family = fields[1] switch
        {
            "TCP4" => System.Net.Sockets.AddressFamily.InterNetwork,
            "TCP6" => System.Net.Sockets.AddressFamily.InterNetworkV6,
            _ => throw new FormatException($"PROXY v1 header: protocol \"{fields[1]}\" is neither TCP4 nor TCP6"),
        };
        var source = Address(fields[2], family);
        Address(fields[3], family);
        var sourcePort = Port(fields[4]);
        Port(fields[5]);
        return new ProxyHeaderResult(length, new IPEndPoint(source, sourcePort));
    }

    private static IPAddress Address(string text, System.Net.Sockets.AddressFamily family)
    {
        // IPAddress.TryParse takes IPv4 forms no proxy sends ("1", "0x7f.1"): an IPv4 address must read back as it was
        // written; an IPv6 address may not carry a scope.
        var ok = IPAddress.TryParse(text, out var address) && address.AddressFamily == family
                 && (family == System.Net.Sockets.AddressFamily.InterNetwork ? address.ToString() == text : !text.Contains('%', StringComparison.Ordinal));
        return ok
            ? address!
            : throw new FormatException($"PROXY v1 header: \"{text}\" is not an {(family == System.Net.Sockets.AddressFamily.InterNetwork ? "IPv4" : "IPv6")} address");
    }

    private static int Port(string text) =>
        text.Length is > 0 and <= 5 && text.All(char.IsAsciiDigit) && (text.Length == 1 || text[0] != '0') && int.Parse(text, System.Globalization.CultureInfo.InvariantCulture) is var port and <= 65535
            ? port
            : throw new FormatException($"PROXY v1 header: \"{text}\" is not a port");

    private static ProxyHeaderResult? TryParseV2(ReadOnlySpan<byte> data)
    {
        var signature = Math.Min(data.Length, V2Signature.Length);
        if (!data[..signature].SequenceEqual(V2Signature.AsSpan(0, signature)))
        {
            throw new FormatException("the connection does not start with a PROXY protocol header");
        }
        if (data.Length < 16)
        {
            return null;
        }
        var version = data[12] >> 4;
        var command = data[12] & 0x0F;
        if (version != 2)
        {
            throw new FormatException($"PROXY v2 header: version {version}, not 2");
        }
        if (command > 1)
        {
            throw new FormatException($"PROXY v2 header: command {command} is neither LOCAL nor PROXY");
        }
        var addresses = BinaryPrimitives.ReadUInt16BigEndian(data[14..16]);
        var length = 16 + addresses;
        if (length > MaxLength)
        {
            throw new FormatException($"PROXY v2 header: {length} bytes, more than the {MaxLength} taken");
        }
        if (data.Length < length)
        {
            return null;
        }
        if (command == 0)
        {
            // LOCAL: the proxy's own connection; the address block, whatever it holds, is to be skipped.
            return new ProxyHeaderResult(length, null);
        }
        var block = data[16..length];
        return data[13] switch
        {
            0x11 when block.Length >= 12 => new ProxyHeaderResult(length,
                new IPEndPoint(new IPAddress(block[..4]), BinaryPrimitives.ReadUInt16BigEndian(block[8..10]))),
            0x21 when block.Length >= 36 => new ProxyHeaderResult(length,
                new IPEndPoint(new IPAddress(block[..16]), BinaryPrimitives.ReadUInt16BigEndian(block[32..34]))),
            0x11 or 0x21 => throw new FormatException($"PROXY v2 header: an address block of {block.Length} bytes is too short for its family"),
            var other => throw new FormatException($"PROXY v2 header: family and transport 0x{other:x2} is not TCP over IPv4 or IPv6"),
        };
    }
}
