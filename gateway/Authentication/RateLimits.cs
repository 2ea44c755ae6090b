using System.Threading.RateLimiting;
using DeviceTrust.Core.Errors;
using DeviceTrust.Gateway.Hosting;

namespace DeviceTrust.Gateway.Authentication;

/// <summary>
/// Token buckets (System.Threading.RateLimiting) for the calls that cost the server work, one partition per source
/// address or user name. A refused call gets ResourceExhausted with when to retry; its refusal is audited sampled
/// (<see cref="SampledAudit"/>) by whoever handles the call. Idle partitions are dropped by the limiter itself, so names an attacker
/// makes up do not accumulate.
/// </summary>
public sealed class RateLimits : IDisposable
{
    private readonly Dictionary<string, PartitionedRateLimiter<string>> _limiters;

    public RateLimits(GatewayOptions options)
    {
        _limiters = options.RateLimits.All.ToDictionary(l => l.Name, l => Create(l.Limit), StringComparer.Ordinal);
    }

    /// <summary>
    /// Takes one token from <paramref name="policy"/>'s bucket for <paramref name="key"/>, or refuses the call with
    /// ResourceExhausted saying when to retry (the caller audits the refusal, sampled, like every ResourceExhausted).
    /// </summary>
    public void Admit(string policy, string key, string what)
    {
        using var lease = _limiters[policy].AttemptAcquire(key);
        if (lease.IsAcquired)
        {
            return;
        }
        var retry = lease.TryGetMetadata(MetadataName.RetryAfter, out var after) && after > TimeSpan.Zero ? after : TimeSpan.FromSeconds(1);
        throw DeviceTrustException.ResourceExhausted($"too many {what} ({policy}): try again in {Math.Ceiling(retry.TotalSeconds):F0} s", retry);
    }

    private static PartitionedRateLimiter<string> Create(RateLimit limit)
    {
        // Refill in whole tokens: one every 60/PerMinute s for slow buckets, PerMinute/60 every second for fast ones.
        var (tokens, period) = limit.PerMinute >= 60
            ? (limit.PerMinute / 60, TimeSpan.FromSeconds(1))
            : (1, TimeSpan.FromSeconds(60.0 / limit.PerMinute));
        var options = new TokenBucketRateLimiterOptions
        {
            TokenLimit = limit.Burst,
            TokensPerPeriod = tokens,
            ReplenishmentPeriod = period,
            QueueLimit = 0,
            // The partitioned limiter replenishes its partitions on one timer of its own.
            AutoReplenishment = false,
        };
        return PartitionedRateLimiter.Create<string, string>(key => RateLimitPartition.GetTokenBucketLimiter(key, _ => options), StringComparer.Ordinal);
    }

    public void Dispose()
    {
        foreach (var limiter in _limiters.Values)
        {
            limiter.Dispose();
        }
    }
}
