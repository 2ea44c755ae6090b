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
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // The silo holding the registry may be leaving: the next report goes to its new activation.
                log.LogWarning("Could not report this gateway to the cluster: {Reason}", e.Message);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }
}
