using DeviceTrust.Testing;

namespace DeviceTrust.EndToEnd.Tests;

/// <summary>A person at one machine: dtsh and dtctl with their own profile folder (DTSH_HOME).</summary>
public sealed class Cli(string home, IReadOnlyDictionary<string, string?>? environment = null)
{
    public string Home { get; } = home;

    /// <summary>The same person with extra environment, e.g. DTSH_DEVICE_DATA describing the device they sit at.</summary>
    public Cli With(string key, string? value) =>
        new(Home, new Dictionary<string, string?>(environment ?? new Dictionary<string, string?>()) { [key] = value });

    /// <summary>dtsh with <paramref name="stdin"/> on standard input (passwords are read from it when it is not a terminal).</summary>
    public Task<ProcessResult> DtshWithInput(string stdin, params string[] arguments) => Run(Binaries.Dtsh, stdin, arguments);

    public Task<ProcessResult> Dtsh(params string[] arguments) => Run(Binaries.Dtsh, null, arguments);

    public Task<ProcessResult> Dtctl(params string[] arguments) => Run(Binaries.Dtctl, null, arguments);

    /// <summary>dtctl with <paramref name="stdin"/> on standard input (the answers to its questions).</summary>
    public Task<ProcessResult> DtctlWithInput(string stdin, params string[] arguments) => Run(Binaries.Dtctl, stdin, arguments);

    private Task<ProcessResult> Run(string dll, string? stdin, string[] arguments) =>
        ProcessRunner.RunAsync("dotnet", [dll, .. arguments], stdin ?? "",
            new Dictionary<string, string?>(environment ?? new Dictionary<string, string?>()) { ["DTSH_HOME"] = Home });
}

public static class ResultAssertions
{
    public static ProcessResult Succeeded(this ProcessResult result)
    {
        Assert.True(result.ExitCode == 0, $"expected success, got {result}");
        return result;
    }

    public static ProcessResult FailedWith(this ProcessResult result, string message)
    {
        Assert.True(result.ExitCode != 0, $"expected failure, got {result}");
        Assert.Contains(message, result.StdErr, StringComparison.Ordinal);
        return result;
    }
}
