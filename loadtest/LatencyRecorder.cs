using System.Diagnostics;
using System.Globalization;

namespace DeviceTrust.LoadTest;

/// <summary>Per-operation latencies of one run, and the summary line printed for docs/benchmarks.md.</summary>
public sealed class LatencyRecorder
{
    private readonly List<double> _milliseconds = [];
    private int _failures;

    public void Record(TimeSpan elapsed)
    {
        lock (_milliseconds)
        {
            _milliseconds.Add(elapsed.TotalMilliseconds);
        }
    }

    /// <summary>Counts a failure and returns how many there have been.</summary>
    public int Fail() => Interlocked.Increment(ref _failures);

    public string Summary(string operation, TimeSpan wall)
    {
        var sorted = _milliseconds.Order().ToArray();
        string P(double q) => sorted.Length == 0 ? "-" : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(q * sorted.Length) - 1)].ToString("F1", CultureInfo.InvariantCulture);
        return string.Create(CultureInfo.InvariantCulture,
            $"{operation}: {sorted.Length} ok, {_failures} failed in {wall.TotalSeconds:F1} s ({sorted.Length / wall.TotalSeconds:F1}/s); " +
            $"latency ms p50 {P(0.50)} p90 {P(0.90)} p99 {P(0.99)} max {P(1.0)}");
    }

    public static async Task<TimeSpan> RunAsync(int count, int concurrency, LatencyRecorder recorder, Func<int, Task> operation)
    {
        var next = -1;
        var wall = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
        {
            while (Interlocked.Increment(ref next) is var i && i < count)
            {
                var timer = Stopwatch.StartNew();
                try
                {
                    await operation(i);
                    recorder.Record(timer.Elapsed);
                }
                catch (Grpc.Core.RpcException e)
                {
                    // the first few failures say what is wrong; the count says how much
                    if (recorder.Fail() <= 5)
                    {
                        Console.Error.WriteLine($"#{i}: {e.Status.StatusCode} {e.Status.Detail}");
                    }
                }
            }
        }));
        return wall.Elapsed;
    }
}
