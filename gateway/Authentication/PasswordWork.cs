using System.Collections.Concurrent;
using System.Diagnostics;
using DeviceTrust.Core.Errors;
using DeviceTrust.Core.Passwords;
using DeviceTrust.Gateway.Hosting;

namespace DeviceTrust.Gateway.Authentication;

/// <summary>
/// Password hashing (about 100 ms of one core each, by design) on a few dedicated threads, never on the thread pool:
/// a flood of logins used to occupy every pool thread with hashing, so every other call waited seconds. At most
/// <see cref="PasswordHashingOptions.Workers"/> hashes run at once and <see cref="PasswordHashingOptions.Queue"/> wait;
/// any more are refused at once with ResourceExhausted and a retry hint of about one hash's time.
/// </summary>
public sealed class PasswordWork : IDisposable
{
    private readonly PasswordHasher _hasher;
    private readonly int _capacity;
    private readonly BlockingCollection<Action> _work = [];
    private int _admitted;
    private long _averageTicks = TimeSpan.FromMilliseconds(100).Ticks;

    public PasswordWork(PasswordHasher hasher, GatewayOptions options)
    {
        _hasher = hasher;
        _capacity = options.PasswordHashing.Workers + options.PasswordHashing.Queue;
        for (var i = 0; i < options.PasswordHashing.Workers; i++)
        {
            new Thread(Work) { IsBackground = true, Name = $"password hashing {i + 1}" }.Start();
        }
    }

    /// <summary>How long one hash takes here, on average: the retry hint given to a refused caller.</summary>
    public TimeSpan TypicalHash => TimeSpan.FromTicks(Interlocked.Read(ref _averageTicks));

    /// <summary>
    /// Takes a place in the pool for one hash, or refuses at once when there is none. Taken before the rate limits, so
    /// an attempt refused because the pool is busy does not use up the caller's tokens; released unused on dispose.
    /// </summary>
    public PasswordSlot Reserve()
    {
        if (Interlocked.Increment(ref _admitted) > _capacity)
        {
            Interlocked.Decrement(ref _admitted);
            throw DeviceTrustException.ResourceExhausted("the gateway is busy checking other passwords: try again in a moment", TypicalHash);
        }
        return new PasswordSlot(this);
    }

    internal void Release() => Interlocked.Decrement(ref _admitted);

    internal Task<T> RunAsync<T>(Func<PasswordHasher, T> hash)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        _work.Add(() =>
        {
            var started = Stopwatch.GetTimestamp();
            try
            {
                done.SetResult(hash(_hasher));
            }
            catch (Exception e)
            {
                done.SetException(e);
            }
            finally
            {
                Release();
                var took = Stopwatch.GetElapsedTime(started).Ticks;
                Interlocked.Exchange(ref _averageTicks, (Interlocked.Read(ref _averageTicks) * 7 + took) / 8);
            }
        });
        return done.Task;
    }

    private void Work()
    {
        foreach (var item in _work.GetConsumingEnumerable())
        {
            item();
        }
    }

    public void Dispose() => _work.CompleteAdding();
}

/// <summary>A reserved place in the password pool: one hash, or nothing (the place is given back on dispose).</summary>
public sealed class PasswordSlot : IDisposable
{
    private PasswordWork? _pool;

    internal PasswordSlot(PasswordWork pool) => _pool = pool;

    public Task<bool> VerifyAsync(string password, string? storedHash) => Take().RunAsync(h => h.Verify(password, storedHash));

    public Task<string> HashAsync(string password) => Take().RunAsync(h => h.Hash(password));

    private PasswordWork Take() => Interlocked.Exchange(ref _pool, null) ?? throw new InvalidOperationException("a password slot is good for one hash");

    public void Dispose() => Interlocked.Exchange(ref _pool, null)?.Release();
}
