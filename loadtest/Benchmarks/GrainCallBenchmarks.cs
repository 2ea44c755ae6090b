using BenchmarkDotNet.Attributes;
using DeviceTrust.Core.Secrets;
using DeviceTrust.Grains.Config;
using DeviceTrust.Grains.Users;
using DeviceTrust.Silo.Database;
using DeviceTrust.Silo.Hosting;
using DeviceTrust.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace DeviceTrust.LoadTest.Benchmarks;

/// <summary>
/// A bare grain call, as the gateway makes them: our silo (co-hosted, embedded SQLite, our serializer and copier
/// rules and call filters) and a call from the host's grain factory to a grain that is already active, which returns
/// from memory. The floor under every grain call of a ceremony; the storms' baseline for what the network adds is the
/// gRPC echo.
/// </summary>
[MemoryDiagnoser]
public class GrainCallBenchmarks : IDisposable
{
    private readonly TempDirectory _directory = new("dt-bench-grain");
    private IHost _host = null!;
    private IGrainFactory _grains = null!;

    [GlobalSetup]
    public async Task SetUpAsync()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["DeviceTrust:DataDir"] = _directory.Path,
            ["DeviceTrust:Cluster:SiloPort"] = FreePort.Next().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["DeviceTrust:Cluster:ClientPort"] = FreePort.Next().ToString(System.Globalization.CultureInfo.InvariantCulture),
        }).Build();
        var options = DeviceTrustHostOptions.From(configuration);
        await DatabaseSchema.ApplyAsync(options);
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.UseOrleans(silo => silo.AddDeviceTrustSilo(options, new MasterKey(new byte[MasterKey.KeyBytes])));
        _host = builder.Build();
        await _host.StartAsync();
        _grains = _host.Services.GetRequiredService<IGrainFactory>();
        await UserThatIsNotThere();
        await ClusterConfig();
    }

    [GlobalCleanup]
    public async Task CleanUpAsync()
    {
        await _host.StopAsync();
        _host.Dispose();
    }

    public void Dispose()
    {
        _directory.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>An active grain answering null: the round trip through Orleans' messaging and scheduling alone.</summary>
    [Benchmark(Baseline = true)]
    public Task<UserView?> UserThatIsNotThere() => _grains.GetGrain<IUserGrain>("nobody").GetAsync();

    /// <summary>The cluster config, as the gateway's snapshot asks for it: a record passed by reference (immutable).</summary>
    [Benchmark]
    public Task<ClusterConfigView> ClusterConfig() => _grains.GetGrain<IClusterConfigGrain>(DeviceTrust.Grains.GrainKeys.Cluster).GetAsync();
}
