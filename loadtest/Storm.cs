using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using HdrHistogram;

namespace DeviceTrust.LoadTest;

/// <summary>How a storm arrives: open loop (<see cref="Rate"/> operations a second, whatever the server does) or closed loop (<see cref="Concurrency"/> clients, each starting its next operation when the last one ends).</summary>
public sealed record StormPlan(double? Rate, int Concurrency, TimeSpan Duration, long MaxOperations, int MaxInFlight = 20_000)
{
    public string Mode => Rate is { } rate ? string.Create(CultureInfo.InvariantCulture, $"open loop, {rate:0.#}/s") : $"closed loop, {Concurrency} concurrent";
}

/// <summary>One second of a storm: what finished in it and how long it took.</summary>
public sealed record StormSecond(int Second, long Ok, long Errors, double P50Ms, double P99Ms, double MaxMs);

/// <summary>The outcome of a storm, as printed and as written to the JSON result file.</summary>
public sealed record StormResult(
    string Scenario, string Mode, double? Rate, int Concurrency, double DurationSeconds, long Ok, long Errors, double PerSecond,
    double P50Ms, double P90Ms, double P99Ms, double P999Ms, double MaxMs, IReadOnlyDictionary<string, long> ErrorsByStatus,
    IReadOnlyList<StormSecond> Timeline)
{
    public string Summary()
    {
        var errors = ErrorsByStatus.Count == 0 ? "" : "; errors: " + string.Join(", ", ErrorsByStatus.Select(e => $"{e.Key} {e.Value}"));
        return string.Create(CultureInfo.InvariantCulture,
            $"{Scenario} ({Mode}): {Ok} ok, {Errors} failed in {DurationSeconds:F1} s ({PerSecond:F1}/s); latency ms p50 {P50Ms:F2} p90 {P90Ms:F2} p99 {P99Ms:F2} p99.9 {P999Ms:F2} max {MaxMs:F2}{errors}");
    }
}

/// <summary>
/// Runs a storm and measures it: latencies in an HDR histogram (microseconds, 3 significant digits, so the tail is
/// kept, not averaged away), a line of progress a second, errors by status. In open loop each latency is counted from
/// the moment the operation was due, not from when the client got round to it, so a slow server cannot hide its
/// queue by slowing the client down (coordinated omission).
/// </summary>
public sealed class Storm
{
    private const long MaxMicroseconds = 120_000_000;
    private readonly object _lock = new();
    private readonly LongHistogram _total = new(MaxMicroseconds, 3);
    private readonly List<StormSecond> _timeline = [];
    private readonly Dictionary<string, long> _errors = new(StringComparer.Ordinal);
    private LongHistogram _second = new(MaxMicroseconds, 3);
    private long _secondErrors;
    private long _ok;
    private long _failed;

    public static async Task<StormResult> RunAsync(string scenario, StormPlan plan, Func<long, CancellationToken, Task> operation, CancellationToken cancellationToken)
    {
        var storm = new Storm();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var clock = Stopwatch.StartNew();
        var progress = storm.ReportEverySecondAsync(clock, stop.Token);
        if (plan.Rate is { } rate)
        {
            await storm.OpenLoopAsync(rate, plan, operation, clock, cancellationToken);
        }
        else
        {
            await storm.ClosedLoopAsync(plan, operation, clock, cancellationToken);
        }
        var wall = clock.Elapsed;
        await stop.CancelAsync();
        await progress;
        storm.CloseSecond((int)Math.Ceiling(wall.TotalSeconds));
        return storm.Result(scenario, plan, wall);
    }

    private async Task ClosedLoopAsync(StormPlan plan, Func<long, CancellationToken, Task> operation, Stopwatch clock, CancellationToken cancellationToken)
    {
        var next = -1L;
        await Task.WhenAll(Enumerable.Range(0, plan.Concurrency).Select(_ => Task.Run(async () =>
        {
            while (clock.Elapsed < plan.Duration && Interlocked.Increment(ref next) is var i && i < plan.MaxOperations)
            {
                var start = clock.Elapsed;
                await MeasureAsync(operation, i, start, clock, cancellationToken);
            }
        }, cancellationToken)));
    }

    private async Task OpenLoopAsync(double rate, StormPlan plan, Func<long, CancellationToken, Task> operation, Stopwatch clock, CancellationToken cancellationToken)
    {
        var inFlight = new List<Task>();
        var due = 0L;
        var running = 0;
        while (due < plan.MaxOperations)
        {
            var dueAt = TimeSpan.FromSeconds(due / rate);
            if (dueAt >= plan.Duration)
            {
                break;
            }
            // Sleep until the next one is due, never spin: a timer wakes at most about once a millisecond, so at rates
            // above 1,000/s each wake-up starts all that fell due since; the lateness counts in their latency.
            var wait = dueAt - clock.Elapsed;
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait < TimeSpan.FromMilliseconds(1) ? TimeSpan.FromMilliseconds(1) : wait, cancellationToken);
            }
            // Start every operation that is due by now.
            while (due < plan.MaxOperations && TimeSpan.FromSeconds(due / rate) is var at && at <= clock.Elapsed && at < plan.Duration)
            {
                if (Volatile.Read(ref running) >= plan.MaxInFlight)
                {
                    Record(null, "client backlog (max in flight)");
                }
                else
                {
                    Interlocked.Increment(ref running);
                    var i = due;
                    inFlight.Add(Task.Run(async () =>
                    {
                        try
                        {
                            await MeasureAsync(operation, i, at, clock, cancellationToken);
                        }
                        finally
                        {
                            Interlocked.Decrement(ref running);
                        }
                    }, cancellationToken));
                }
                due++;
            }
            if (inFlight.Count > 4096)
            {
                inFlight.RemoveAll(t => t.IsCompleted);
            }
        }
        await Task.WhenAll(inFlight);
    }

    private async Task MeasureAsync(Func<long, CancellationToken, Task> operation, long i, TimeSpan start, Stopwatch clock, CancellationToken cancellationToken)
    {
        try
        {
            await operation(i, cancellationToken);
            Record(clock.Elapsed - start, null);
        }
        catch (Grpc.Core.RpcException e)
        {
            Record(null, e.StatusCode.ToString());
            if (Interlocked.Read(ref _failed) <= 5)
            {
                Console.Error.WriteLine($"#{i}: {e.Status.StatusCode} {e.Status.Detail}");
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Record(null, e.GetType().Name);
            if (Interlocked.Read(ref _failed) <= 5)
            {
                Console.Error.WriteLine($"#{i}: {e.GetType().Name}: {e.Message}");
            }
        }
    }

    private void Record(TimeSpan? latency, string? error)
    {
        lock (_lock)
        {
            if (latency is { } elapsed)
            {
                var microseconds = Math.Clamp((long)elapsed.TotalMicroseconds, 1, MaxMicroseconds);
                _total.RecordValue(microseconds);
                _second.RecordValue(microseconds);
                _ok++;
                return;
            }
            _failed++;
            _secondErrors++;
            _errors[error!] = _errors.GetValueOrDefault(error!) + 1;
        }
    }

    private async Task ReportEverySecondAsync(Stopwatch clock, CancellationToken cancellationToken)
    {
        var second = 0;
        try
        {
            while (true)
            {
                second++;
                var wait = TimeSpan.FromSeconds(second) - clock.Elapsed;
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, cancellationToken);
                }
                var line = CloseSecond(second);
                Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  {line.Second,4} s  {line.Ok,7}/s ok  p50 {line.P50Ms,8:F2} ms  p99 {line.P99Ms,8:F2} ms  errors {line.Errors}"));
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private StormSecond CloseSecond(int second)
    {
        lock (_lock)
        {
            if (_timeline.Count > 0 && _timeline[^1].Second >= second)
            {
                return _timeline[^1];
            }
            var line = new StormSecond(second, _second.TotalCount, _secondErrors, Milliseconds(_second, 50), Milliseconds(_second, 99),
                _second.TotalCount == 0 ? 0 : _second.GetMaxValue() / 1000.0);
            // An empty last fraction of a second says nothing: only whole seconds, or a partial one with results, count.
            if (line.Ok > 0 || line.Errors > 0 || _timeline.Count == 0)
            {
                _timeline.Add(line);
            }
            _second = new LongHistogram(MaxMicroseconds, 3);
            _secondErrors = 0;
            return line;
        }
    }

    private StormResult Result(string scenario, StormPlan plan, TimeSpan wall)
    {
        lock (_lock)
        {
            return new StormResult(scenario, plan.Mode, plan.Rate, plan.Concurrency, wall.TotalSeconds, _ok, _failed, _ok / wall.TotalSeconds,
                Milliseconds(_total, 50), Milliseconds(_total, 90), Milliseconds(_total, 99), Milliseconds(_total, 99.9),
                _total.TotalCount == 0 ? 0 : _total.GetMaxValue() / 1000.0, new SortedDictionary<string, long>(_errors, StringComparer.Ordinal),
                [.. _timeline]);
        }
    }

    private static double Milliseconds(HistogramBase histogram, double percentile) =>
        histogram.TotalCount == 0 ? 0 : histogram.GetValueAtPercentile(percentile) / 1000.0;

    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };
}
