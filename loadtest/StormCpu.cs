using System.Diagnostics;
using System.Globalization;

namespace DeviceTrust.LoadTest;

/// <summary>One process's share of a storm: its CPU time, per operation, and as cores kept busy.</summary>
public sealed record CpuShare(string Process, double CpuSeconds, double MsPerOperation, double Cores);

/// <summary>
/// Where a storm's CPU went: the simulator itself, the gateway (its pid in <c>STORM_GATEWAY_PID</c>, which
/// <c>storm.sh</c> sets) and any helpers (the swtpm pool), as CPU seconds read from the kernel before and after, so
/// "the gateway spends X ms of CPU per authentication" is a measurement, not an estimate.
/// </summary>
public sealed class StormCpu
{
    private readonly List<(string Name, Process Process, TimeSpan Before)> _processes = [];
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    private StormCpu()
    {
    }

    public static StormCpu Start(IEnumerable<(string Name, int Pid)> helpers)
    {
        var meter = new StormCpu();
        meter.Add("simulator", Environment.ProcessId);
        if (int.TryParse(Environment.GetEnvironmentVariable("STORM_GATEWAY_PID"), NumberStyles.None, CultureInfo.InvariantCulture, out var gateway))
        {
            meter.Add("gateway", gateway);
        }
        foreach (var (name, pid) in helpers)
        {
            meter.Add(name, pid);
        }
        return meter;
    }

    private void Add(string name, int pid)
    {
        try
        {
            var process = Process.GetProcessById(pid);
            _processes.Add((name, process, process.TotalProcessorTime));
        }
        catch (ArgumentException)
        {
            Console.Error.WriteLine($"CPU of {name} (pid {pid}) not measured: no such process");
        }
    }

    /// <summary>Each process's CPU since the start, per operation of <paramref name="operations"/>; helpers of one name are summed.</summary>
    public IReadOnlyList<CpuShare> Stop(long operations)
    {
        var wall = _clock.Elapsed.TotalSeconds;
        return _processes
            .Select(p =>
            {
                p.Process.Refresh();
                return (p.Name, Seconds: (p.Process.TotalProcessorTime - p.Before).TotalSeconds);
            })
            .GroupBy(p => p.Name, StringComparer.Ordinal)
            .Select(g =>
            {
                var seconds = g.Sum(p => p.Seconds);
                return new CpuShare(g.Key, seconds, operations == 0 ? 0 : 1000 * seconds / operations, wall == 0 ? 0 : seconds / wall);
            })
            .ToList();
    }

    public static string Describe(IReadOnlyList<CpuShare> shares) => "CPU during the storm: " + string.Join("; ", shares.Select(s =>
        string.Create(CultureInfo.InvariantCulture, $"{s.Process} {s.CpuSeconds:F1} s ({s.MsPerOperation:F2} ms per operation, {s.Cores:F2} cores)")));
}
