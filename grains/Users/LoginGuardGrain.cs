using DeviceTrust.Core.Errors;
using DeviceTrust.Core.Passwords;

namespace DeviceTrust.Grains.Users;

// Kept for an hour of idleness, the span over which failures are remembered.
[CollectionAgeLimit(Minutes = 60)]
public sealed class LoginGuardGrain(TimeProvider time) : Grain, ILoginGuardGrain
{
    /// <summary>A bound on remembered sources per name; beyond it the one that failed longest ago is forgotten.</summary>
    private const int MaxSources = 256;

    private readonly Dictionary<string, Failures> _sources = new(StringComparer.Ordinal);

    public Task EnsureAllowedAsync(string source)
    {
        var now = time.GetUtcNow();
        if (Current(source, now) is { } failures && failures.NotBefore > now)
        {
            var wait = failures.NotBefore - now;
            throw DeviceTrustException.ResourceExhausted(
                $"too many failed logins for this user from your address: try again in {Math.Ceiling(wait.TotalSeconds):F0} s", wait);
        }
        return Task.CompletedTask;
    }

    public Task<LoginDelay?> RecordFailureAsync(string source)
    {
        var now = time.GetUtcNow();
        var count = (Current(source, now)?.Count ?? 0) + 1;
        var delay = LoginDelays.After(count);
        if (!_sources.ContainsKey(source) && _sources.Count >= MaxSources)
        {
            _sources.Remove(_sources.MinBy(s => s.Value.Last).Key);
        }
        _sources[source] = new Failures(count, now, now + (delay ?? TimeSpan.Zero));
        return Task.FromResult(delay is { } d ? new LoginDelay(count, d) : null);
    }

    public Task<LoginDelay?> RecordSuccessAsync(string source)
    {
        var now = time.GetUtcNow();
        var failures = Current(source, now);
        _sources.Remove(source);
        return Task.FromResult(failures is { } f && LoginDelays.After(f.Count) is { } delay ? new LoginDelay(f.Count, delay) : null);
    }

    private Failures? Current(string source, DateTimeOffset now)
    {
        if (!_sources.TryGetValue(source, out var failures))
        {
            return null;
        }
        if (now - failures.Last > LoginDelays.ForgetAfter)
        {
            _sources.Remove(source);
            return null;
        }
        return failures;
    }

    private sealed record Failures(int Count, DateTimeOffset Last, DateTimeOffset NotBefore);
}
