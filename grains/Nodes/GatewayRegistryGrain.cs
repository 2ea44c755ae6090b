namespace DeviceTrust.Grains.Nodes;

public sealed class GatewayRegistryGrain(TimeProvider time) : Grain, IGatewayRegistryGrain
{
    /// <summary>A bound on what hostile or broken reporters can make it hold.</summary>
    public const int MaxGateways = 1024;

    private readonly Dictionary<Guid, GatewayPresence> _gateways = [];

    public Task ReportAsync(GatewayPresence gateway)
    {
        var now = time.GetUtcNow();
        Forget(now);
        if (_gateways.Count < MaxGateways || _gateways.ContainsKey(gateway.InstanceId))
        {
            _gateways[gateway.InstanceId] = gateway with { LastSeen = now };
        }
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<GatewayPresence>> ListAsync()
    {
        Forget(time.GetUtcNow());
        return Task.FromResult<IReadOnlyList<GatewayPresence>>(_gateways.Values.OrderBy(g => g.Name, StringComparer.Ordinal).ThenBy(g => g.Started).ToList());
    }

    private void Forget(DateTimeOffset now)
    {
        foreach (var silent in _gateways.Values.Where(g => now - g.LastSeen > 3 * GatewayPresence.ReportInterval).Select(g => g.InstanceId).ToList())
        {
            _gateways.Remove(silent);
        }
    }
}
