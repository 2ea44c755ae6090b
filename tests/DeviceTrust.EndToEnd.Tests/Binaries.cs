namespace DeviceTrust.EndToEnd.Tests;

/// <summary>The real programs, from their build output folders (same configuration as this test assembly).</summary>
public static class Binaries
{
    public static string RepositoryRoot { get; } = FindRoot();

    private static readonly string Configuration =
        AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";

    /// <summary>The gateway under test; <c>DEVICETRUST_E2E_GATEWAY</c> names another build (to show a test fails without a fix).</summary>
    public static string Gateway => Environment.GetEnvironmentVariable("DEVICETRUST_E2E_GATEWAY") is { Length: > 0 } other
        ? other
        : Output("gateway", "DeviceTrust.Gateway.dll");
    public static string Silo => Output("silo", "DeviceTrust.Silo.dll");
    public static string Dtsh => Output("cli/dtsh", "dtsh.dll");
    public static string Dtctl => Output("cli/dtctl", "dtctl.dll");

    /// <summary>Debian's chromium (apt-get install chromium; .ci/run installs it), which Playwright drives for the web console tests.</summary>
    public static string Chromium => File.Exists("/usr/bin/chromium") ? "/usr/bin/chromium"
        : throw new FileNotFoundException("/usr/bin/chromium is missing: apt-get install chromium", "/usr/bin/chromium");

    /// <summary>
    /// The folder of the dtnode build (its apphost and dlls), or with <c>DEVICETRUST_E2E_DTNODE</c> a NativeAOT dtnode
    /// (<c>dotnet publish cli/dtnode -r linux-x64</c>) to test that instead.
    /// </summary>
    public static string DtnodeBuild => Environment.GetEnvironmentVariable("DEVICETRUST_E2E_DTNODE") is { Length: > 0 } aot
        ? aot
        : Path.GetDirectoryName(Output("cli/dtnode", "dtnode.dll"))!;

    private static string Output(string project, string dll)
    {
        var path = Path.Combine(RepositoryRoot, project, "bin", Configuration, "net10.0", dll);
        return File.Exists(path) ? path : throw new FileNotFoundException($"{path} is not built: build Cluster.sln first", path);
    }

    private static string FindRoot()
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
