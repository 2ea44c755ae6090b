using DeviceTrust.Core.Errors;
using DeviceTrust.Silo.Hosting;

namespace DeviceTrust.Grains.Tests;

public sealed class ClusterNodeOptionsTests
{
    private static readonly StorageOptions Sqlite = new() { Provider = StorageOptions.Sqlite };

    [Theory]
    [InlineData(30)]
    [InlineData(119)]
    [InlineData(86_401)]
    public void An_idle_grain_lifetime_Orleans_cannot_keep_is_refused_with_the_range(int seconds)
    {
        var options = new ClusterNodeOptions { IdleGrainLifetime = TimeSpan.FromSeconds(seconds) };
        var error = Assert.Throws<DeviceTrustException>(() => options.Validate(Sqlite));
        Assert.Equal(ErrorKind.InvalidArgument, error.Kind);
        Assert.Equal("DeviceTrust:Cluster:IdleGrainLifetime must be between two minutes and one day", error.Message);
    }

    [Fact]
    public void Unset_leaves_Orleans_its_default_and_two_minutes_is_accepted()
    {
        new ClusterNodeOptions().Validate(Sqlite);
        new ClusterNodeOptions { IdleGrainLifetime = TimeSpan.FromMinutes(2) }.Validate(Sqlite);
    }
}
