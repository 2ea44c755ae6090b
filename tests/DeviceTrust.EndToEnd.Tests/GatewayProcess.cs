using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using DeviceTrust.Testing;

namespace DeviceTrust.EndToEnd.Tests;

/// <summary>
/// The real gateway binary (an embedded single-node cluster) on free ports with its own data folder.
/// Stop and start it again over the same folder to restart the cluster.
/// </summary>
public sealed partial class GatewayProcess : IAsyncDisposable
{
    private readonly Dictionary<string, string?> _environment;
    private readonly IReadOnlyList<string> _arguments;
    private readonly StringBuilder _output = new();
    private Process? _process;

    public GatewayProcess(string dataDirectory, IReadOnlyDictionary<string, string?>? extraEnvironment = null, IReadOnlyList<string>? arguments = null)
    {
        DataDirectory = dataDirectory;
        _arguments = arguments ?? [];
        _environment = new Dictionary<string, string?> { ["DeviceTrust__DataDir"] = dataDirectory };
        ChoosePorts();
        foreach (var (key, value) in extraEnvironment ?? new Dictionary<string, string?>())
        {
            _environment[key] = value;
        }
        _portsFixed = extraEnvironment?.ContainsKey("DeviceTrust__Gateway__Listen") == true;
    }

    private readonly bool _portsFixed;
    private bool _startedOnce;

    private void ChoosePorts()
    {
        Port = FreePort.Next();
        _environment["DeviceTrust__Gateway__Listen"] = $"127.0.0.1:{Port}";
        MetricsPort = FreePort.Next();
        _environment["DeviceTrust__Gateway__MetricsListen"] = $"127.0.0.1:{MetricsPort}";
        _environment["DeviceTrust__Cluster__SiloPort"] = FreePort.Next().ToString(System.Globalization.CultureInfo.InvariantCulture);
        _environment["DeviceTrust__Cluster__ClientPort"] = FreePort.Next().ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// Rate limits far above what a suite does: suites that run many logins and ceremonies as one admin from one
    /// address use these, and the rate limit tests use the real defaults or small values of their own.
    /// </summary>
    public static IReadOnlyDictionary<string, string?> HighLimits { get; } =
        new[] { "LoginPerAddress", "LoginPerUser", "TokensPerAddress", "TokensPerUser", "CeremoniesPerAddress", "CeremoniesPerUser" }
            .SelectMany(policy => new[]
            {
                KeyValuePair.Create($"DeviceTrust__Gateway__RateLimits__{policy}__Burst", (string?)"100000"),
                KeyValuePair.Create($"DeviceTrust__Gateway__RateLimits__{policy}__PerMinute", (string?)"1000000"),
            })
            .ToDictionary();

    public string DataDirectory { get; }

    /// <summary>Changes a setting for the next start (null: unset it), e.g. the master key of a rotation.</summary>
    public void Set(string key, string? value) => _environment[key] = value;

    /// <summary>The environment the gateway runs with, for running it (or the silo) by hand in a test.</summary>
    public IReadOnlyDictionary<string, string?> Environment => _environment;
    public int Port { get; private set; }

    /// <summary>The plain HTTP port of <c>/metrics</c> (every test gateway has one).</summary>
    public int MetricsPort { get; private set; }
    public string Proxy => $"127.0.0.1:{Port}";
    public string CaPin { get; private set; } = "";

    /// <summary>Everything the process printed since it was first started.</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>Waits for a line the gateway logs (its console logger writes from a background queue).</summary>
    public async Task<bool> WaitForOutputAsync(string text, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(10));
        while (!Output.Contains(text, StringComparison.Ordinal))
        {
            if (DateTime.UtcNow > deadline)
            {
                return false;
            }
            await Task.Delay(50);
        }
        return true;
    }

    /// <summary>Whether the process has ended and how (null while it runs, or before it started).</summary>
    public string? Exited => _process is { HasExited: true } process ? $"exited with code {process.ExitCode}" : null;

    /// <summary>
    /// The errors the gateway logged (the console logger's <c>fail:</c> and <c>crit:</c> entries, each with its
    /// indented message and exception lines), for a test to show when it fails: the first ones, or the
    /// <paramref name="last"/> ones.
    /// </summary>
    public string LoggedErrors(int maxEntries = 10, bool last = false) => ConsoleLog.Errors(Output, maxEntries, last);

    public string AdminInvitation => File.ReadAllText(Path.Combine(DataDirectory, "admin-invite")).Trim();

    /// <summary>
    /// Starts the gateway and returns how long it took until it printed its ready banner. Ports are picked by
    /// bind-and-release, so another process can take one before the gateway binds it: the first start retries on
    /// fresh ports (a restart keeps its ports, since profiles remember the address).
    /// </summary>
    public async Task<TimeSpan> StartAsync()
    {
        for (var attempt = 1; ; attempt++)
        {
            var (ready, elapsed) = await TryStartAsync();
            if (ready)
            {
                _startedOnce = true;
                return elapsed;
            }
            var collided = Output.Contains("address already in use", StringComparison.OrdinalIgnoreCase);
            await StopAsync();
            if (!collided || _startedOnce || _portsFixed || attempt == 5)
            {
                throw new InvalidOperationException($"the gateway did not become ready:\n{Output}");
            }
            lock (_output)
            {
                _output.Clear();
            }
            ChoosePorts();
        }
    }

    private async Task<(bool Ready, TimeSpan Elapsed)> TryStartAsync()
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Binaries.Gateway);
        foreach (var argument in _arguments)
        {
            info.ArgumentList.Add(argument);
        }
        foreach (var (key, value) in _environment)
        {
            info.Environment[key] = value;
        }
        var started = Stopwatch.StartNew();
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var process = Process.Start(info)!;
        ChildProcessGuard.Watch(process.Id);
        void Collect(string? line)
        {
            if (line is null)
            {
                return;
            }
            lock (_output)
            {
                _output.AppendLine(line);
            }
            if (PinLine().Match(line) is { Success: true } match)
            {
                CaPin = match.Groups[1].Value;
                ready.TrySetResult();
            }
        }
        process.OutputDataReceived += (_, e) => Collect(e.Data);
        process.ErrorDataReceived += (_, e) => Collect(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;
        var exited = process.WaitForExitAsync();
        var first = await Task.WhenAny(ready.Task, exited, Task.Delay(TimeSpan.FromSeconds(90)));
        return (first == ready.Task, started.Elapsed);
    }

    /// <summary>Stops the process the way an operator would (SIGTERM), and waits for it.</summary>
    public async Task StopAsync()
    {
        if (_process is not { HasExited: false } process)
        {
            return;
        }
        await ProcessRunner.RunAsync("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
        }
        process.Dispose();
        _process = null;
    }

    /// <summary>kill -9: no shutdown code runs.</summary>
    public async Task KillAsync()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill();
            await process.WaitForExitAsync();
        }
    }

    public async ValueTask DisposeAsync() => await StopAsync();

    [GeneratedRegex(@"^CA pin: (sha256:[0-9a-f]{64})$")]
    private static partial Regex PinLine();
}
