using System.Runtime.ExceptionServices;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Runtime;

namespace DeviceTrust.Silo.Hosting;

/// <summary>
/// A call the cluster rejected without running it — the silo holding the grain is leaving or gone, and membership
/// has not said so yet — is sent again after a short pause: once the silo is declared dead the grain is activated on
/// another one. Rejected calls never ran, so sending them again is safe for every grain method; a call that timed out
/// is not retried (it may have run). How long: see <see cref="WindowFor"/>.
/// </summary>
public sealed class RejectedCallRetry(DeviceTrustHostOptions options, IOptions<ClusterMembershipOptions> membership, TimeProvider time)
    : IOutgoingGrainCallFilter
{
    public static readonly TimeSpan Pause = TimeSpan.FromMilliseconds(500);

    /// <summary>The call timeout, plus the missed probes after which a silo is voted dead (30 s by default).</summary>
    public TimeSpan DetectionWindow { get; } =
        options.Cluster.CallTimeout + membership.Value.ProbeTimeout * (membership.Value.NumMissedProbesLimit + 1);

    /// <summary>
    /// A call from outside any grain (a gateway's RPC) is retried for <see cref="DetectionWindow"/>: the call timeout
    /// alone (10 s) was shorter than Orleans' death detection (3 missed probes of 5 s, longer on a loaded machine), so
    /// calls begun after a silo died failed until the cluster noticed. A call made by a grain keeps the call timeout:
    /// the grain waits with it, and every call queued behind it would time out instead (tried: a 30 s window for those
    /// too stalled the whole failover test for 40 s).
    /// </summary>
    public TimeSpan WindowFor(IOutgoingGrainCallContext context) => context.SourceContext is null ? DetectionWindow : options.Cluster.CallTimeout;

    public async Task Invoke(IOutgoingGrainCallContext context)
    {
        var deadline = time.GetUtcNow() + WindowFor(context);
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
