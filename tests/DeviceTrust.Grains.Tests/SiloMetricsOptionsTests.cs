using DeviceTrust.Core.Errors;
using DeviceTrust.Silo.Hosting;
using Microsoft.Extensions.Configuration;

namespace DeviceTrust.Grains.Tests;

/// <summary>A standalone silo's metrics and probe port: off unless set, and a bad value stops the silo with a clear error.</summary>
public sealed class SiloMetricsOptionsTests
{
    private static DeviceTrustHostOptions From(params (string Key, string Value)[] settings) =>
        DeviceTrustHostOptions.From(new ConfigurationBuilder()
            .AddInMemoryCollection(settings.Select(s => KeyValuePair.Create(s.Key, (string?)s.Value)))
            .Build());

    [Fact]
    public void There_is_no_metrics_port_unless_one_is_set()
    {
        Assert.Null(From().Cluster.MetricsEndPoint);
        Assert.Equal(System.Net.IPEndPoint.Parse("0.0.0.0:9464"), From(("DeviceTrust:Cluster:MetricsListen", "0.0.0.0:9464")).Cluster.MetricsEndPoint);
    }

    [Theory]
    [InlineData("9464", "DeviceTrust:Cluster:MetricsListen \"9464\" is not an address:port")]
    [InlineData("metrics.example:9464", "DeviceTrust:Cluster:MetricsListen \"metrics.example:9464\" is not an address:port")]
    [InlineData("0.0.0.0:0", "DeviceTrust:Cluster:MetricsListen \"0.0.0.0:0\" is not an address:port")]
    [InlineData("0.0.0.0:11111", "DeviceTrust:Cluster:MetricsListen must use another port than SiloPort and ClientPort")]
    [InlineData("0.0.0.0:30000", "DeviceTrust:Cluster:MetricsListen must use another port than SiloPort and ClientPort")]
    public void A_bad_metrics_address_is_refused_with_what_is_wrong(string value, string message)
    {
        var refused = Assert.Throws<DeviceTrustException>(() => From(("DeviceTrust:Cluster:MetricsListen", value)));

        Assert.Equal(ErrorKind.InvalidArgument, refused.Kind);
        Assert.Equal(message, refused.Message);
    }
}
