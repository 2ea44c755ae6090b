using DeviceTrust.Client.Connection;
using DeviceTrust.Core.Errors;

namespace DeviceTrust.Core.Tests;

public sealed class GatewayAddressTests
{
    [Theory]
    [InlineData("gw.example.com:3025", "gw.example.com:3025")]
    [InlineData("https://gw.example.com:3025/", "gw.example.com:3025")]
    [InlineData("10.0.0.5:3025, 10.0.0.6:3025", "10.0.0.5:3025,10.0.0.6:3025")]
    [InlineData("a:1,https://b:2", "a:1,b:2")]
    public void Gateways_are_kept_as_host_port_in_the_order_given(string typed, string kept) =>
        Assert.Equal(kept, GatewayAddress.Normalize(typed));

    [Theory]
    [InlineData("a:1,,b:2")]
    [InlineData("a:1,")]
    [InlineData("http://a:1")]
    [InlineData("a:1,https://b:2/path")]
    public void A_list_with_an_empty_or_foreign_entry_is_refused(string typed)
    {
        var refused = Assert.Throws<DeviceTrustException>(() => GatewayAddress.ParseAll(typed));
        Assert.Equal(ErrorKind.InvalidArgument, refused.Kind);
    }

    [Fact]
    public void At_most_sixteen_gateways()
    {
        Assert.Equal(16, GatewayAddress.ParseAll(string.Join(",", Enumerable.Range(1, 16).Select(i => $"gw{i}:3025"))).Count);
        var refused = Assert.Throws<DeviceTrustException>(() => GatewayAddress.ParseAll(string.Join(",", Enumerable.Range(1, 17).Select(i => $"gw{i}:3025"))));
        Assert.Contains("up to 16 of them separated by commas", refused.Message, StringComparison.Ordinal);
    }
}
