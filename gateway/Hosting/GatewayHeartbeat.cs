using DeviceTrust.Grains;
using DeviceTrust.Grains.Nodes;

namespace DeviceTrust.Gateway.Hosting;

/// <summary>
/// Tells the cluster this gateway is up, every <see cref="GatewayPresence.ReportInterval"/> (dtctl cluster status lists
/// it), and again after <see cref="RetryAfterFailure"/> when a report failed: the registry keeps presence in memory, so
/// when its silo dies the new activation knows a gateway only from its next report, which should not wait a whole interval.
/// </summary>
public sealed class GatewayHeartbeat(IGrainFactory grains, GatewayOptions options, TimeProvider time, ILogger<GatewayHeartbeat> log) : BackgroundService
{
    public static readonly TimeSpan RetryAfterFailure = TimeSpan.FromSeconds(1);

    private readonly GatewayPresence _self = new(Guid.NewGuid(), Environment.MachineName, options.Listen, options.Mode, time.GetUtcNow());

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            var next = GatewayPresence.ReportInterval;
            try
            {
                await grains.GetGrain<IGatewayRegistryGrain>(GrainKeys.Cluster).ReportAsync(_self);
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                // The silo holding the registry may be leaving, and the call may fail in any way a cluster connection
                // can (a timeout, a rejection, a connection torn down under it): the next report goes to its new
                // activation. Only shutting down ends the loop; an exception escaping it would stop the whole gateway.
                log.LogWarning("Could not report this gateway to the cluster: {Reason}", e.Message);
                next = RetryAfterFailure;
            }
            try
            {
                await Task.Delay(next, time, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
        }
    }
}
