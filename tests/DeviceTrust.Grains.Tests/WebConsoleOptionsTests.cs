using DeviceTrust.Core.Errors;
using DeviceTrust.Web;

namespace DeviceTrust.Grains.Tests;

/// <summary>The console's settings: the device web token may be made to live shorter than 5 minutes, never longer.</summary>
public sealed class WebConsoleOptionsTests
{
    [Fact]
    public void Device_web_tokens_work_5_minutes_unless_set_shorter()
    {
        var defaults = new WebConsoleOptions().Validated();
        Assert.Equal(TimeSpan.FromMinutes(5), defaults.DeviceTokenLifetime);
        Assert.Equal("5 minutes", defaults.DeviceTokenLifetimeText);
        Assert.Equal("1 minute", new WebConsoleOptions { DeviceTokenLifetime = TimeSpan.FromMinutes(1) }.Validated().DeviceTokenLifetimeText);
        Assert.Equal("90 seconds", new WebConsoleOptions { DeviceTokenLifetime = TimeSpan.FromSeconds(90) }.Validated().DeviceTokenLifetimeText);
        Assert.Equal("10 seconds", new WebConsoleOptions { DeviceTokenLifetime = TimeSpan.FromSeconds(10) }.Validated().DeviceTokenLifetimeText);
    }

    [Theory]
    [InlineData(9)]
    [InlineData(301)]
    [InlineData(0)]
    public void A_device_token_lifetime_outside_10_seconds_to_5_minutes_is_refused(int seconds)
    {
        var refused = Assert.Throws<DeviceTrustException>(() => new WebConsoleOptions { DeviceTokenLifetime = TimeSpan.FromSeconds(seconds) }.Validated());

        Assert.Equal(ErrorKind.InvalidArgument, refused.Kind);
        Assert.Equal("DeviceTrust:Web:DeviceTokenLifetime must be between 10 seconds and 5 minutes", refused.Message);
    }
}
