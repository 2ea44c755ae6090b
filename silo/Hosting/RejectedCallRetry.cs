using System.Runtime.ExceptionServices;
using Orleans.Runtime;

namespace DeviceTrust.Silo.Hosting;

/// <summary>
/// A call the cluster rejected without running it — the silo holding the grain is leaving or gone, and membership
/// has not said so yet — is sent again after a short pause, until <see cref="ClusterNodeOptions.CallTimeout"/>: once
/// the silo is declared dead the grain is activated on another one. Rejected calls never ran, so sending them again
/// is safe for every grain method; a call that timed out is not retried (it may have run).
/// </summary>
public sealed class RejectedCallRetry(DeviceTrustHostOptions options, TimeProvider time) : IOutgoingGrainCallFilter
{
    public static readonly TimeSpan Pause = TimeSpan.FromMilliseconds(500);

    public async Task Invoke(IOutgoingGrainCallContext context)
    {
        var deadline = time.GetUtcNow() + options.Cluster.CallTimeout;
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
