namespace DeviceTrust.EndToEnd.Tests;

/// <summary>The real programs, from their build output folders (same configuration as this test assembly).</summary>
public static class Binaries
{
    public static string RepositoryRoot { get; } = FindRoot();

    private static readonly string Configuration =
        AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";

    public static string Gateway => Output("gateway", "DeviceTrust.Gateway.dll");
    public static string Silo => Output("silo", "DeviceTrust.Silo.dll");
    public static string Dtsh => Output("cli/dtsh", "dtsh.dll");
    public static string Dtctl => Output("cli/dtctl", "dtctl.dll");

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
