using System.Runtime.ExceptionServices;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Runtime;

namespace DeviceTrust.Silo.Hosting;

/// <summary>
/// A call the cluster rejected without running it — the silo holding the grain is leaving or gone, and membership
/// has not said so yet — is sent again after a short pause, until the cluster has had the time to declare that silo
/// dead (<see cref="Window"/>): then the grain is activated on another one. Rejected calls never ran, so sending them
/// again is safe for every grain method; a call that timed out is not retried (it may have run).
/// </summary>
public sealed class RejectedCallRetry(DeviceTrustHostOptions options, IOptions<ClusterMembershipOptions> membership, TimeProvider time)
    : IOutgoingGrainCallFilter
{
    public static readonly TimeSpan Pause = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// How long rejections are retried: the call timeout, plus the missed probes after which a silo is voted dead.
    /// The call timeout alone (10 s) was shorter than that detection (3 probes of 5 s by default, longer on a loaded
    /// machine), so calls begun after a silo's death failed until the cluster noticed it, which a client then had to retry.
    /// </summary>
    public TimeSpan Window { get; } = options.Cluster.CallTimeout + membership.Value.ProbeTimeout * (membership.Value.NumMissedProbesLimit + 1);

    public async Task Invoke(IOutgoingGrainCallContext context)
    {
        var deadline = time.GetUtcNow() + Window;
        while (true)
        {
            ExceptionDispatchInfo? thrown = null;
            try
            {
                await context.Invoke();
            }
            catch (Exception e) when (IsRejection(e))
            {
                thrown = ExceptionDispatchInfo.Capture(e);
            }
            var rejected = thrown is not null || context.Response?.Exception is { } failure && IsRejection(failure);
            if (!rejected || time.GetUtcNow() + Pause >= deadline)
            {
                thrown?.Throw();
                return;
            }
            await Task.Delay(Pause, time);
        }
    }

    private static bool IsRejection(Exception e) => e is OrleansMessageRejectionException or Orleans.Runtime.Messaging.ConnectionFailedException;
}
