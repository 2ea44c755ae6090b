namespace DeviceTrust.Testing;

/// <summary>
/// The real clock plus an offset a test can move forward: expiry becomes testable without sleeping, while timers
/// (which Orleans also runs on the injected TimeProvider) keep real time.
/// </summary>
public sealed class ShiftedClock : TimeProvider
{
    private long _offsetTicks;

    public TimeSpan Offset => TimeSpan.FromTicks(Interlocked.Read(ref _offsetTicks));

    public void Advance(TimeSpan by) => Interlocked.Add(ref _offsetTicks, by.Ticks);

    public override DateTimeOffset GetUtcNow() => base.GetUtcNow() + Offset;
}
