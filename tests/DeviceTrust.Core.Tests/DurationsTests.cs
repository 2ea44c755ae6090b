using DeviceTrust.Client.Output;

namespace DeviceTrust.Core.Tests;

public class DurationsTests
{
    [Theory]
    [InlineData("30m", 1800)]
    [InlineData("12h", 43200)]
    [InlineData("1h30m", 5400)]
    [InlineData("90s", 90)]
    [InlineData("7d", 604800)]
    [InlineData("01:00:00", 3600)]
    public void Durations_parse(string text, int seconds)
    {
        Assert.True(Durations.TryParse(text, out var span));
        Assert.Equal(TimeSpan.FromSeconds(seconds), span);
    }

    [Theory]
    [InlineData("")]
    [InlineData("m")]
    [InlineData("10")]
    [InlineData("10x")]
    [InlineData("-5m")]
    [InlineData("0s")]
    public void Bad_durations_do_not_parse(string text) => Assert.False(Durations.TryParse(text, out _));

    [Theory]
    [InlineData(1800, "30m0s")]
    [InlineData(43199, "11h59m59s")]
    [InlineData(5, "5s")]
    public void Durations_print_like_go(int seconds, string text) => Assert.Equal(text, Durations.Format(TimeSpan.FromSeconds(seconds)));
}
