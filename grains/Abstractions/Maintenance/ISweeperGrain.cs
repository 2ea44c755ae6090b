namespace DeviceTrust.Grains.Maintenance;

/// <summary>
/// Removes what the cluster no longer needs (singleton, key <see cref="GrainKeys.Cluster"/>): enrollment tokens that
/// expired more than <see cref="Sweeping.Retention"/> ago. It runs on a reminder, which the cluster fires on whichever silo
/// owns the grain, so it does not stop when a silo dies.
/// </summary>
[Alias("dt.ISweeperGrain")]
public interface ISweeperGrain : IGrainWithStringKey
{
    /// <summary>Registers the reminder (every silo does at start; registering again changes nothing but its next time).</summary>
    [Alias("Start")]
    Task StartAsync();

    /// <summary>Sweeps now; returns how many tokens it removed.</summary>
    [Alias("Sweep")]
    Task<int> SweepAsync();
}

public static class Sweeping
{
    /// <summary>A spent or expired token is kept this long, so a late attempt still hears "already spent" or "expired".</summary>
    public static readonly TimeSpan Retention = TimeSpan.FromDays(7);

    public static readonly TimeSpan Interval = TimeSpan.FromHours(1);
}
