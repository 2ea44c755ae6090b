using System.Net;
using System.Text;
using DeviceTrust.Core.Network;

namespace DeviceTrust.Core.Tests;

public sealed class ProxyHeaderTests
{
    private static readonly byte[] Signature = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A];

    private static byte[] V2(byte command, byte family, byte[] block) =>
        [.. Signature, command, family, (byte)(block.Length >> 8), (byte)block.Length, .. block];

    private static byte[] Ipv4Block(string source, int sourcePort, string destination = "10.0.0.1", int destinationPort = 3025) =>
        [.. IPAddress.Parse(source).GetAddressBytes(), .. IPAddress.Parse(destination).GetAddressBytes(),
            (byte)(sourcePort >> 8), (byte)sourcePort, (byte)(destinationPort >> 8), (byte)destinationPort];

    [Theory]
    [InlineData("PROXY TCP4 198.51.100.7 10.0.0.1 50000 3025\r\n", "198.51.100.7", 50000)]
    [InlineData("PROXY TCP6 2001:db8::7 2001:db8::1 443 3025\r\n", "2001:db8::7", 443)]
    [InlineData("PROXY TCP4 0.0.0.0 10.0.0.1 0 3025\r\n", "0.0.0.0", 0)]
    public void A_v1_line_names_the_client_and_its_length_is_the_line(string line, string address, int port)
    {
        var bytes = Encoding.ASCII.GetBytes(line + "\x16\x03\x01");
        var header = ProxyHeader.TryParse(bytes)!;
        Assert.Equal(line.Length, header.Length);
        Assert.Equal(new IPEndPoint(IPAddress.Parse(address), port), header.Source);
    }

    [Fact]
    public void A_v1_unknown_line_is_the_balancer_s_own_connection()
    {
        var header = ProxyHeader.TryParse("PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n"u8)!;
        Assert.Equal(35, header.Length);
        Assert.Null(header.Source);
    }

    [Fact]
    public void A_v2_header_names_the_client_over_ipv4_and_ipv6_and_its_tlvs_are_skipped()
    {
        byte[] tlv = [0x04, 0x00, 0x03, 0x61, 0x62, 0x63]; // a NOOP-style TLV after the addresses
        var four = ProxyHeader.TryParse(V2(0x21, 0x11, [.. Ipv4Block("203.0.113.9", 61000), .. tlv]))!;
        Assert.Equal(16 + 12 + tlv.Length, four.Length);
        Assert.Equal(new IPEndPoint(IPAddress.Parse("203.0.113.9"), 61000), four.Source);

        byte[] six = [.. IPAddress.Parse("2001:db8::9").GetAddressBytes(), .. IPAddress.Parse("2001:db8::1").GetAddressBytes(), 0x01, 0xBB, 0x0B, 0xD1];
        var header = ProxyHeader.TryParse(V2(0x21, 0x21, six))!;
        Assert.Equal(new IPEndPoint(IPAddress.Parse("2001:db8::9"), 443), header.Source);

        var local = ProxyHeader.TryParse(V2(0x20, 0x00, []))!;
        Assert.Equal(16, local.Length);
        Assert.Null(local.Source);
    }

    [Fact]
    public void Every_prefix_of_a_valid_header_asks_for_more_and_never_guesses()
    {
        foreach (var whole in new[] { Encoding.ASCII.GetBytes("PROXY TCP4 198.51.100.7 10.0.0.1 50000 3025\r\n"), V2(0x21, 0x11, Ipv4Block("203.0.113.9", 1)) })
        {
            for (var length = 0; length < whole.Length; length++)
            {
                Assert.Null(ProxyHeader.TryParse(whole.AsSpan(0, length)));
            }
            Assert.NotNull(ProxyHeader.TryParse(whole));
        }
    }

    [Theory]
    [InlineData("\x16\x03\x01\x02\x00", "the connection does not start with a PROXY protocol header")]
    [InlineData("GET / HTTP/1.1\r\n", "the connection does not start with a PROXY protocol header")]
    [InlineData("PROXX TCP4 1.2.3.4 1.2.3.4 1 2\r\n", "the connection does not start with a PROXY protocol header")]
    [InlineData("PROXY UDP4 1.2.3.4 1.2.3.4 1 2\r\n", "PROXY v1 header: protocol \"UDP4\" is neither TCP4 nor TCP6")]
    [InlineData("PROXY TCP4 1.2.3.4 1.2.3.4 1\r\n", "PROXY v1 header: want \"PROXY TCP4|TCP6 SOURCE DESTINATION SOURCE-PORT DESTINATION-PORT\"")]
    [InlineData("PROXY TCP4 1.2.3.4  1.2.3.4 1 2\r\n", "PROXY v1 header: want \"PROXY TCP4|TCP6 SOURCE DESTINATION SOURCE-PORT DESTINATION-PORT\"")]
    [InlineData("PROXY TCP4 1 1.2.3.4 1 2\r\n", "PROXY v1 header: \"1\" is not an IPv4 address")]
    [InlineData("PROXY TCP4 0x7f.1 1.2.3.4 1 2\r\n", "PROXY v1 header: \"0x7f.1\" is not an IPv4 address")]
    [InlineData("PROXY TCP4 ::1 1.2.3.4 1 2\r\n", "PROXY v1 header: \"::1\" is not an IPv4 address")]
    [InlineData("PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n", "PROXY v1 header: \"fe80::1%eth0\" is not an IPv6 address")]
    [InlineData("PROXY TCP4 1.2.3.4 1.2.3.4 65536 2\r\n", "PROXY v1 header: \"65536\" is not a port")]
    [InlineData("PROXY TCP4 1.2.3.4 1.2.3.4 -1 2\r\n", "PROXY v1 header: \"-1\" is not a port")]
    [InlineData("PROXY TCP4 1.2.3.4 1.2.3.4 0080 2\r\n", "PROXY v1 header: \"0080\" is not a port")]
    [InlineData("PROXY TCP4 1.2.3.4 1.2.3.4 \u0661 2\r\n", "PROXY v1 header: a byte that is not printable ASCII")]
    [InlineData("PROXY TCP4 1.2.3.4\t1.2.3.4 1 2\r\n", "PROXY v1 header: a byte that is not printable ASCII")]
    public void A_malformed_v1_header_is_refused_with_the_reason(string text, string reason)
    {
        var refused = Assert.Throws<FormatException>(() => ProxyHeader.TryParse(Encoding.UTF8.GetBytes(text)));
        Assert.Equal(reason, refused.Message);
    }

    [Fact]
    public void A_v1_line_without_its_end_is_refused_at_107_bytes()
    {
        var endless = Encoding.ASCII.GetBytes("PROXY TCP4 " + new string('1', 200));
        Assert.Null(ProxyHeader.TryParse(endless.AsSpan(0, 106)));
        Assert.Equal("PROXY v1 header: no CRLF within 107 bytes", Assert.Throws<FormatException>(() => ProxyHeader.TryParse(endless)).Message);
    }

    [Fact]
    public void A_malformed_v2_header_is_refused_with_the_reason()
    {
        void Refused(byte[] bytes, string reason) => Assert.Equal(reason, Assert.Throws<FormatException>(() => ProxyHeader.TryParse(bytes)).Message);

        Refused(V2(0x11, 0x11, Ipv4Block("1.2.3.4", 1)), "PROXY v2 header: version 1, not 2");
        Refused(V2(0x22, 0x11, Ipv4Block("1.2.3.4", 1)), "PROXY v2 header: command 2 is neither LOCAL nor PROXY");
        Refused(V2(0x21, 0x12, Ipv4Block("1.2.3.4", 1)), "PROXY v2 header: family and transport 0x12 is not TCP over IPv4 or IPv6");
        Refused(V2(0x21, 0x31, new byte[216]), "PROXY v2 header: family and transport 0x31 is not TCP over IPv4 or IPv6");
        Refused(V2(0x21, 0x00, []), "PROXY v2 header: family and transport 0x00 is not TCP over IPv4 or IPv6");
        Refused(V2(0x21, 0x21, Ipv4Block("1.2.3.4", 1)), "PROXY v2 header: an address block of 12 bytes is too short for its family");
        Refused(V2(0x21, 0x11, new byte[8]), "PROXY v2 header: an address block of 8 bytes is too short for its family");
        // A length beyond what is taken is refused before any of it is waited for.
        Refused([.. Signature, 0x21, 0x11, 0xFF, 0xFF], $"PROXY v2 header: {16 + 0xFFFF} bytes, more than the {ProxyHeader.MaxLength} taken");
        Refused([.. Signature[..11], 0x0B, 0x21, 0x11, 0, 12], "the connection does not start with a PROXY protocol header");
    }
}
