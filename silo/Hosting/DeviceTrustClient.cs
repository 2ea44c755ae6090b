using DeviceTrust.Core.Errors;
using DeviceTrust.Grains.Serialization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using Orleans.Serialization;

namespace DeviceTrust.Silo.Hosting;

public static class DeviceTrustClient
{
    /// <summary>
    /// A process that holds no grains and calls the cluster's silos as an Orleans client: it finds their client
    /// ports in the membership table, and keeps trying (logging each attempt) until one answers, so gateways and
    /// silos may start in any order.
    /// </summary>
    public static IClientBuilder AddDeviceTrustClient(this IClientBuilder client, DeviceTrustHostOptions options)
    {
        var cluster = options.Cluster;
        if (!cluster.IsDatabase)
        {
            throw DeviceTrustException.InvalidArgument(
                "a client-mode gateway finds the silos in the database: it needs PostgreSQL storage and DeviceTrust:Cluster:Membership database");
        }
        client.UseAdoNetClustering(membership => (membership.Invariant, membership.ConnectionString) = options.Storage.Database(options));
        client.Configure<ClusterOptions>(cluster.Identify);
        client.Configure<ClientMessagingOptions>(messaging => messaging.ResponseTimeout = cluster.CallTimeout);
        client.UseConnectionRetryFilter<KeepTrying>();
        client.AddOutgoingGrainCallFilter<RejectedCallRetry>();
        client.AddActivityPropagation();
        client.Services.AddSerializer(serializer => serializer.AddDeviceTrustCoreTypes());
        return client;
    }

    private sealed class KeepTrying(ILogger<KeepTrying> log) : IClientConnectionRetryFilter
    {
        private int _attempts;

        public async Task<bool> ShouldRetryConnectionAttempt(Exception exception, CancellationToken cancellationToken)
        {
            var attempt = Interlocked.Increment(ref _attempts);
            log.LogWarning("No silo of the cluster answered yet (attempt {Attempt}): {Reason}; trying again", attempt, exception.Message);
            await Task.Delay(TimeSpan.FromSeconds(Math.Min(attempt, 5)), cancellationToken);
            return !cancellationToken.IsCancellationRequested;
        }
    }
}
