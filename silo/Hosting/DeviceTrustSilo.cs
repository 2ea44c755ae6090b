using DeviceTrust.Core.Secrets;
using DeviceTrust.Grains;
using DeviceTrust.Silo.Database;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Orleans.Configuration;
using Orleans.Serialization;

namespace DeviceTrust.Silo.Hosting;

public static class DeviceTrustSilo
{
    public const string DefaultClusterId = "devicetrust";

    /// <summary>
    /// Everything a DeviceTrust silo needs: clustering (a single local silo unless <c>Orleans:Clustering</c> is
    /// configured), grain storage through Orleans' ADO.NET provider with our SQL, the master key, telemetry hooks.
    /// </summary>
    public static ISiloBuilder AddDeviceTrustSilo(this ISiloBuilder silo, DeviceTrustHostOptions options, IConfiguration configuration, MasterKey masterKey)
    {
        if (configuration["Orleans:Clustering:ProviderType"] is null)
        {
            silo.UseLocalhostClustering(options.SiloPort, options.GatewayPort, serviceId: ServiceIdOf(configuration), clusterId: ClusterIdOf(configuration));
        }
        return silo.AddDeviceTrustGrains(options, masterKey);
    }

    /// <summary>Grain storage and the services grains need, without clustering (test clusters bring their own).</summary>
    public static ISiloBuilder AddDeviceTrustGrains(this ISiloBuilder silo, DeviceTrustHostOptions options, MasterKey masterKey)
    {
        silo.AddAdoNetGrainStorage(StateNames.Storage, storage =>
        {
            storage.Invariant = options.Storage.Invariant;
            storage.ConnectionString = options.Storage.ConnectionStringFor(options);
            // Deleting a user or a device removes its row; the audit log keeps the history.
            storage.DeleteStateOnClear = true;
            storage.GrainStorageSerializer = new GrainStateJsonSerializer();
        });
        silo.AddActivityPropagation();
        silo.Services.AddSerializer(serializer => serializer.AddDeviceTrustCoreTypes());
        silo.Services.AddSingleton(masterKey);
        silo.Services.AddSingleton(options);
        silo.Services.TryAddSingleton(TimeProvider.System);
        return silo;
    }

    /// <summary>
    /// Domain records from core/ (no Orleans attributes there) cross grain calls as System.Text.Json; exceptions
    /// keep their own surrogate. Silos and Orleans clients must both register this.
    /// </summary>
    public static ISerializerBuilder AddDeviceTrustCoreTypes(this ISerializerBuilder serializer) =>
        serializer.AddJsonSerializer(
            isSupported: type => type.Namespace?.StartsWith("DeviceTrust.Core", StringComparison.Ordinal) == true && !typeof(Exception).IsAssignableFrom(type),
            jsonSerializerOptions: GrainStateJson.Options);

    public static string ServiceIdOf(IConfiguration configuration) => configuration["Orleans:ServiceId"] ?? DefaultClusterId;

    public static string ClusterIdOf(IConfiguration configuration) => configuration["Orleans:ClusterId"] ?? DefaultClusterId;
}
