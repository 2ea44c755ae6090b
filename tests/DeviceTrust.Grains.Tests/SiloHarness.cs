using DeviceTrust.Core.Secrets;
using DeviceTrust.Grains;
using DeviceTrust.Grains.Serialization;
using DeviceTrust.Silo.Database;
using DeviceTrust.Silo.Hosting;
using DeviceTrust.Testing;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;
using Orleans.Storage;
using Orleans.TestingHost;

namespace DeviceTrust.Grains.Tests;

/// <summary>
/// An in-process Orleans cluster with our real grain storage (Orleans' ADO.NET provider and our SQL) on SQLite or
/// PostgreSQL. Stopping it and deploying again over the same database is a restart.
/// </summary>
public sealed class SiloHarness : IAsyncDisposable
{
    public const string ServiceId = "dt-test";

    private SiloHarness(InProcessTestCluster cluster, DeviceTrustHostOptions options, ShiftedClock clock, MasterKey masterKey)
    {
        Cluster = cluster;
        Options = options;
        Clock = clock;
        MasterKey = masterKey;
    }

    /// <summary>The key the silo encrypts secrets with, to check what it stored.</summary>
    public MasterKey MasterKey { get; }

    public InProcessTestCluster Cluster { get; }
    public DeviceTrustHostOptions Options { get; }
    public ShiftedClock Clock { get; }
    public IGrainFactory Grains => Cluster.Client;

    public IGrainStorage Storage => Cluster.Silos[0].ServiceProvider.GetRequiredKeyedService<IGrainStorage>(StateNames.Storage);

    public static DeviceTrustHostOptions Sqlite(string directory) => new() { DataDir = directory };

    public static DeviceTrustHostOptions Postgres(string connectionString) =>
        new() { Storage = new StorageOptions { Provider = StorageOptions.PostgreSql, ConnectionString = connectionString } };

    public static async Task<SiloHarness> StartAsync(DeviceTrustHostOptions options, MasterKey? masterKey = null)
    {
        await DatabaseSchema.ApplyAsync(options);
        var clock = new ShiftedClock();
        var key = masterKey ?? new MasterKey(new byte[MasterKey.KeyBytes]);
        var builder = new InProcessTestClusterBuilder(1);
        builder.Options.ServiceId = ServiceId;
        builder.ConfigureSilo((_, silo) =>
        {
            silo.Services.AddSingleton<TimeProvider>(clock);
            silo.AddDeviceTrustGrains(options, key);
        });
        builder.ConfigureClient(client => client.Services.AddSerializer(serializer => serializer.AddDeviceTrustCoreTypes()));
        var cluster = builder.Build();
        await cluster.DeployAsync();
        return new SiloHarness(cluster, options, clock, key);
    }

    public async ValueTask DisposeAsync()
    {
        await Cluster.StopAllSilosAsync();
        await Cluster.DisposeAsync();
    }
}
