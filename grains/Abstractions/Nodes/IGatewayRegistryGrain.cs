namespace DeviceTrust.Grains.Nodes;

/// <summary>
/// Which gateways are up (singleton, key <see cref="GrainKeys.Cluster"/>): each reports every
/// <see cref="GatewayPresence.ReportInterval"/>, and one silent for three intervals is no longer listed. Nothing is
/// stored: after the silo holding it dies, the next round of reports rebuilds it.
/// </summary>
[Alias("dt.IGatewayRegistryGrain")]
public interface IGatewayRegistryGrain : IGrainWithStringKey
{
    [Alias("Report")]
    Task ReportAsync(GatewayPresence gateway);

    [Alias("List")]
    Task<IReadOnlyList<GatewayPresence>> ListAsync();
}

/// <summary>One gateway process: who it is, how it runs, and when it last said so.</summary>
[GenerateSerializer, Immutable, Alias("dt.GatewayPresence")]
public sealed record GatewayPresence(
    [property: Id(0)] Guid InstanceId,
    [property: Id(1)] string Name,
    [property: Id(2)] string Listen,
    [property: Id(3)] string Mode,
    [property: Id(4)] DateTimeOffset Started)
{
    public static readonly TimeSpan ReportInterval = TimeSpan.FromSeconds(10);

    /// <summary>Set by the registry when the report arrives.</summary>
    [Id(5)] public DateTimeOffset LastSeen { get; init; }
}
