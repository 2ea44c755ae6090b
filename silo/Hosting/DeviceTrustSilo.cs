using DeviceTrust.Core.Secrets;
using DeviceTrust.Grains;
using DeviceTrust.Grains.Maintenance;
using DeviceTrust.Grains.Serialization;
using DeviceTrust.Silo.Database;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Orleans.Configuration;
using Orleans.Serialization;
using Orleans.Storage;

namespace DeviceTrust.Silo.Hosting;

public static class DeviceTrustSilo
{
    /// <summary>The name of Orleans' ADO.NET grain storage on SQLite, behind <see cref="SqliteWriteGate.GrainStorage"/>.</summary>
    public const string SqliteStorageName = StateNames.Storage + ".sqlite";

    /// <summary>
    /// Everything a DeviceTrust silo needs: membership (one local silo, or the database's membership table), grain
    /// storage through Orleans' ADO.NET provider with our SQL, the master key, telemetry hooks.
    /// </summary>
    public static ISiloBuilder AddDeviceTrustSilo(this ISiloBuilder silo, DeviceTrustHostOptions options, MasterKey masterKey)
    {
        var cluster = options.Cluster;
        if (cluster.IsDatabase)
        {
            silo.UseAdoNetClustering(membership => (membership.Invariant, membership.ConnectionString) = options.Storage.Database(options));
            silo.Configure<ClusterOptions>(cluster.Identify);
            silo.ConfigureEndpoints(cluster.AdvertisedAddress, cluster.SiloPort, cluster.ClientPort, cluster.ListenOnAnyAddress);
            silo.UseAdoNetReminderService(reminders => (reminders.Invariant, reminders.ConnectionString) = options.Storage.Database(options));
        }
        else
        {
            silo.UseLocalhostClustering(cluster.SiloPort, cluster.ClientPort, serviceId: cluster.ServiceId, clusterId: cluster.ClusterId);
            // One node: its reminders live as long as it does, and every start registers them again.
            silo.UseInMemoryReminderService();
        }
        silo.AddStartupTask(async (services, _) =>
            await services.GetRequiredService<IGrainFactory>().GetGrain<ISweeperGrain>(GrainKeys.Cluster).StartAsync());
        silo.Configure<SiloMessagingOptions>(messaging => messaging.ResponseTimeout = cluster.CallTimeout);
        if (cluster.SiloName.Length > 0)
        {
            silo.Configure<SiloOptions>(named => named.SiloName = cluster.SiloName);
        }
        silo.Services.Configure<Microsoft.Extensions.Hosting.HostOptions>(host => host.ShutdownTimeout = cluster.ShutdownTimeout);
        if (cluster.IdleGrainLifetime is { } idle)
        {
            silo.Configure<GrainCollectionOptions>(collection => collection.CollectionAge = idle);
        }
        silo.AddOutgoingGrainCallFilter<RejectedCallRetry>();
        return silo.AddDeviceTrustGrains(options, masterKey);
    }

    /// <summary>Grain storage and the services grains need, without clustering (test clusters bring their own).</summary>
    public static ISiloBuilder AddDeviceTrustGrains(this ISiloBuilder silo, DeviceTrustHostOptions options, MasterKey masterKey)
    {
        // On SQLite the provider is registered under a name of its own and grains reach it through the write gate.
        var (invariant, connectionString) = options.Storage.Database(options);
        silo.AddAdoNetGrainStorage(options.Storage.IsSqlite ? SqliteStorageName : StateNames.Storage, storage =>
        {
            storage.Invariant = invariant;
            if (options.Storage.IsSqlite)
            {
                // Writers wait for SQLite's lock inside SQLite, not in 150 ms sleeps (SqliteLockWait).
                storage.DataSource = new SqliteLockWait.DataSource(connectionString);
            }
            else
            {
                storage.ConnectionString = connectionString;
            }
            // Deleting a user or a device removes its row; the audit log keeps the history.
            storage.DeleteStateOnClear = true;
            storage.GrainStorageSerializer = new GrainStateJsonSerializer();
        });
        if (options.Storage.IsSqlite)
        {
            silo.Services.AddKeyedSingleton<IGrainStorage>(StateNames.Storage, (services, _) =>
                new SqliteWriteGate.GrainStorage(services.GetRequiredKeyedService<IGrainStorage>(SqliteStorageName), SqliteWriteGate.For(connectionString)));
        }
        silo.AddActivityPropagation();
        silo.Services.AddSerializer(serializer => serializer.AddDeviceTrustCoreTypes());
        silo.Services.AddSingleton<ILeftovers>(services => new Leftovers(options,
            services.GetRequiredService<Microsoft.Extensions.Options.IOptions<ClusterOptions>>().Value.ServiceId, new AuditLog(options), services.GetRequiredService<TimeProvider>()));
        silo.Services.AddSingleton(masterKey);
        silo.Services.AddSingleton(options);
        silo.Services.TryAddSingleton(TimeProvider.System);
        return silo;
    }
}
