namespace DeviceTrust.Testing;

/// <summary>
/// A running swtpm for a test, manufactured fresh in a temporary folder and driven with tpm2-tools through
/// tests/tpm/softtpm.sh (one implementation of the recipe for the fixture script and the tests).
/// </summary>
public sealed class SoftwareTpm : IAsyncDisposable
{
    private readonly TempDirectory _directory = new("dt-swtpm");

    private SoftwareTpm()
    {
    }

    public int Port { get; private set; }

    /// <summary>The running swtpm's process id.</summary>
    public int Pid { get; private set; }
    public string Directory => _directory.Path;

    /// <summary>What tss2 tools and dtsh accept: <c>swtpm:host=127.0.0.1,port=N</c>.</summary>
    public string Tcti => $"swtpm:host=127.0.0.1,port={Port}";

    public static string Library => Path.Combine(RepositoryRoot(), "tests", "tpm", "softtpm.sh");

    public static async Task<SoftwareTpm> StartAsync()
    {
        foreach (var tool in new[] { "swtpm", "swtpm_setup", "tpm2_createek" })
        {
            if (!File.Exists($"/usr/bin/{tool}"))
            {
                throw new InvalidOperationException($"{tool} is not installed: apt-get install swtpm swtpm-tools tpm2-tools libtss2-tcti-swtpm0");
            }
        }
        var tpm = new SoftwareTpm();
        await tpm.ShellAsync("st_manufacture \"$D\"");
        await tpm.ServeAsync();
        return tpm;
    }

    /// <summary>
    /// A copy of this TPM's state, as an attacker who copied a (software or virtual) TPM would have: this TPM is shut
    /// down in order (its clock saved), its state copied into a new swtpm, and both started again (on new ports).
    /// </summary>
    public async Task<SoftwareTpm> CloneAsync()
    {
        await ShellAsync("st_stop \"$D\" \"$P\"");
        var clone = new SoftwareTpm();
        await ProcessRunner.RunAsync("cp", ["-a", Path.Combine(Directory, "state"), Path.Combine(Directory, "ca"), Path.Combine(Directory, "ekcerts"), clone.Directory]);
        await ServeAsync();
        await clone.ServeAsync();
        return clone;
    }

    /// <summary>An orderly shutdown and a new start (TPM Reset: the reset count goes up), on a new port.</summary>
    public async Task RestartAsync()
    {
        await ShellAsync("st_stop \"$D\" \"$P\"");
        await ServeAsync();
    }

    /// <summary>
    /// swtpm takes the port and the next one (control). Other fixtures, in this process or a parallel test assembly,
    /// pick ports at the same moment, so a pair that was free can be taken before swtpm binds it: retry.
    /// </summary>
    private async Task ServeAsync()
    {
        for (var attempt = 1; ; attempt++)
        {
            Port = FreePairStart();
            var started = await TryShellAsync("st_start \"$D\" \"$P\"");
            if (started.ExitCode == 0)
            {
                Pid = int.Parse(File.ReadAllText(Path.Combine(Directory, "swtpm.pid")).Trim(), System.Globalization.CultureInfo.InvariantCulture);
                ChildProcessGuard.Watch(Pid);
                return;
            }
            await TryShellAsync("st_stop \"$D\" \"$P\"");
            if (attempt == 5)
            {
                var log = Path.Combine(Directory, "swtpm.log");
                throw new InvalidOperationException($"swtpm did not start after {attempt} attempts: {started}\n{(File.Exists(log) ? File.ReadAllText(log) : "")}");
            }
        }
    }

    /// <summary>Runs a tpm2-tools command (flushing transient objects after it); throws with its output on failure.</summary>
    public async Task<ProcessResult> ToolAsync(params string[] arguments)
    {
        var result = await TryToolAsync(arguments);
        return result.ExitCode == 0 ? result : throw new InvalidOperationException($"{string.Join(' ', arguments)} failed: {result}");
    }

    public Task<ProcessResult> TryToolAsync(params string[] arguments) =>
        TryShellAsync("st_tool \"$D\" \"$P\" \"$@\"", arguments);

    /// <summary>Runs shell code with softtpm.sh sourced and D (folder) and P (port) set.</summary>
    public async Task<ProcessResult> ShellAsync(string script, params string[] arguments)
    {
        var result = await TryShellAsync(script, arguments);
        return result.ExitCode == 0 ? result : throw new InvalidOperationException($"{script} failed: {result}");
    }

    public Task<ProcessResult> TryShellAsync(string script, params string[] arguments) =>
        ProcessRunner.RunAsync("bash", ["-c", $". \"{Library}\"; {script}", "softtpm", .. arguments],
            environment: new Dictionary<string, string?> { ["D"] = Directory, ["P"] = Port.ToString(System.Globalization.CultureInfo.InvariantCulture) },
            timeout: TimeSpan.FromMinutes(2));

    public async ValueTask DisposeAsync()
    {
        await TryShellAsync("st_stop \"$D\" \"$P\"");
        _directory.Dispose();
    }

    private static int FreePairStart()
    {
        while (true)
        {
            var port = FreePort.Next();
            if (port < 65534 && IsFree(port + 1))
            {
                return port;
            }
        }
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (System.Net.Sockets.SocketException)
        {
            return false;
        }
    }

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Cluster.sln")))
            {
                return directory.FullName;
            }
        }
        throw new InvalidOperationException("Cluster.sln not found above " + AppContext.BaseDirectory);
    }
}
