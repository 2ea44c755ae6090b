using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace DeviceTrust.Gateway.Hosting;

/// <summary>Ready once the silo is up and the cluster CA and TLS certificate are loaded.</summary>
public sealed class ClusterReadyCheck(ClusterAuthority authority) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(authority.IsReady ? HealthCheckResult.Healthy() : HealthCheckResult.Unhealthy("the cluster CA is not loaded yet"));
}
