using System.Diagnostics;
using System.Text;

namespace DeviceTrust.Testing;

/// <summary>
/// A long-running child of a test (sshd, a node agent, nginx), its output collected, tied to the test host's lifetime
/// (<see cref="ChildProcessGuard"/>), stopped with SIGTERM.
/// </summary>
public sealed class BackgroundProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private BackgroundProcess(Process process)
    {
        _process = process;
    }

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

    public bool HasExited => _process.HasExited;

    /// <summary>What the process logged as errors, if it logs with the .NET console logger.</summary>
    public string LoggedErrors(int maxEntries = 10, bool last = false) => ConsoleLog.Errors(Output, maxEntries, last);

    public static BackgroundProcess Start(string file, IEnumerable<string> arguments, IReadOnlyDictionary<string, string?>? environment = null)
    {
        var info = new ProcessStartInfo(file)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }
        foreach (var (key, value) in environment ?? new Dictionary<string, string?>())
        {
            info.Environment[key] = value;
        }
        var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {file}");
        ChildProcessGuard.Watch(process.Id);
        var started = new BackgroundProcess(process);
        process.OutputDataReceived += (_, e) => started.Collect(e.Data);
        process.ErrorDataReceived += (_, e) => started.Collect(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        process.StandardInput.Close();
        return started;
    }

    private void Collect(string? line)
    {
        if (line is not null)
        {
            lock (_output)
            {
                _output.AppendLine(line);
            }
        }
    }

    /// <summary>Waits until <paramref name="ready"/> holds, or fails with the output if the process exits or time runs out.</summary>
    public async Task WaitUntilAsync(Func<Task<bool>> ready, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(20));
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"{what}: the process exited with {_process.ExitCode}\n{Output}");
            }
            if (await ready())
            {
                return;
            }
            await Task.Delay(50);
        }
        throw new TimeoutException($"{what}: not ready in time\n{Output}");
    }

    /// <summary>SIGKILL, the way a machine dies: no shutdown code runs. Returns when the process is gone.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }
    }

    /// <summary>
    /// SIGTERM, the way an orchestrator stops a process, then waits up to <paramref name="grace"/> for it to exit by
    /// itself: its exit code, or null if it did not (it is then killed).
    /// </summary>
    public async Task<int?> TerminateAsync(TimeSpan grace)
    {
        if (!_process.HasExited)
        {
            await ProcessRunner.RunAsync("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            using var cts = new CancellationTokenSource(grace);
            try
            {
                await _process.WaitForExitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
                return null;
            }
        }
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            await ProcessRunner.RunAsync("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                await _process.WaitForExitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
            }
        }
        _process.Dispose();
    }
}
