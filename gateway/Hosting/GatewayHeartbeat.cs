using DeviceTrust.Grains;
using DeviceTrust.Grains.Nodes;

namespace DeviceTrust.Gateway.Hosting;

/// <summary>Tells the cluster this gateway is up, every <see cref="GatewayPresence.ReportInterval"/> (dtctl cluster status lists it).</summary>
public sealed class GatewayHeartbeat(IGrainFactory grains, GatewayOptions options, TimeProvider time, ILogger<GatewayHeartbeat> log) : BackgroundService
{
    private readonly GatewayPresence _self = new(Guid.NewGuid(), Environment.MachineName, options.Listen, options.Mode, time.GetUtcNow());

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(GatewayPresence.ReportInterval, time);
        do
        {
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
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }
}
