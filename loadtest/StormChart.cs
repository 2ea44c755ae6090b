namespace DeviceTrust.LoadTest;

/// <summary>A storm's timeline as a PNG: completed operations a second (left axis) and p50/p99 latency (right axis).</summary>
public static class StormChart
{
    public static void Save(StormResult result, string path)
    {
        var seconds = result.Timeline.Select(s => (double)s.Second).ToArray();
        var plot = new ScottPlot.Plot();
        var ok = plot.Add.Scatter(seconds, result.Timeline.Select(s => (double)s.Ok).ToArray());
        ok.LegendText = "completed / s";
        var p50 = plot.Add.Scatter(seconds, result.Timeline.Select(s => s.P50Ms).ToArray());
        p50.LegendText = "p50 ms";
        p50.Axes.YAxis = plot.Axes.Right;
        var p99 = plot.Add.Scatter(seconds, result.Timeline.Select(s => s.P99Ms).ToArray());
        p99.LegendText = "p99 ms";
        p99.Axes.YAxis = plot.Axes.Right;
        if (result.Timeline.Any(s => s.Errors > 0))
        {
            var errors = plot.Add.Scatter(seconds, result.Timeline.Select(s => (double)s.Errors).ToArray());
            errors.LegendText = "errors / s";
        }
        plot.Title($"{result.Scenario}: {result.Mode}");
        plot.Axes.Bottom.Label.Text = "seconds";
        plot.Axes.Left.Label.Text = "operations / s";
        plot.Axes.Right.Label.Text = "latency (ms)";
        plot.Axes.SetLimitsY(0, Math.Max(1, result.Timeline.Max(s => s.Ok)) * 1.15, plot.Axes.Left);
        plot.Axes.SetLimitsY(0, Math.Max(1, result.Timeline.Max(s => s.P99Ms)) * 1.15, plot.Axes.Right);
        plot.ShowLegend(ScottPlot.Alignment.LowerRight);
        plot.SavePng(path, 1000, 500);
    }
}
