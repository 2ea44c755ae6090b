using DeviceTrust.Testing;

namespace DeviceTrust.EndToEnd.Tests;

/// <summary>
/// dtnode where sshd agrees to run it: sshd runs an AuthorizedPrincipalsCommand only when the file and every folder
/// above it are root's and not writable by others, so nothing under /tmp (or a build folder below it) will do. A
/// copy goes to a folder of its own under /usr/local/lib, removed afterwards.
/// </summary>
public sealed class InstalledDtnode : IDisposable
{
    private const string Parent = "/usr/local/lib/devicetrust-e2e";
    private readonly string _directory;

    private InstalledDtnode(string directory, string executable)
    {
        _directory = directory;
        Executable = executable;
    }

    public string Executable { get; }

    public static async Task<InstalledDtnode> InstallAsync()
    {
        var directory = Path.Combine(Parent, Guid.NewGuid().ToString("N"));
        var build = Binaries.DtnodeBuild;
        var copy = File.Exists(build)
            ? await ProcessRunner.RunAsync("install", ["-D", "-m", "0755", build, Path.Combine(directory, "dtnode")])
            : await ProcessRunner.RunAsync("bash", ["-c", "umask 022 && mkdir -p \"$2\" && cp -r \"$1\"/. \"$2\"/ && chmod -R go-w \"$2\"", "install", build, directory]);
        if (copy.ExitCode != 0)
        {
            throw new InvalidOperationException($"could not install dtnode under {Parent} (the tests run as root in CI): {copy}");
        }
        foreach (var folder in new[] { Parent, directory })
        {
            File.SetUnixFileMode(folder, (UnixFileMode)0b111_101_101);
        }
        return new InstalledDtnode(directory, Path.Combine(directory, "dtnode"));
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
