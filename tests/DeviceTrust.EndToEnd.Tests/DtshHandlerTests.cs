using System.Diagnostics;
using DeviceTrust.Testing;

namespace DeviceTrust.EndToEnd.Tests;

/// <summary>dtsh registers itself as the desktop's handler of devicetrust: addresses, checked with the real xdg-mime.</summary>
public sealed class DtshHandlerTests : IDisposable
{
    private readonly TempDirectory _directory = new("dt-handler");

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task Register_handler_writes_a_desktop_entry_and_xdg_mime_then_names_it_for_devicetrust_addresses()
    {
        var data = _directory["data"];
        var config = _directory["config"];
        var cli = new Cli(_directory["home"]).With("XDG_DATA_HOME", data).With("XDG_CONFIG_HOME", config);

        var registered = (await cli.Dtsh("device", "web-authenticate", "--register-handler")).Succeeded().StdOut;

        var entry = await File.ReadAllTextAsync(Path.Combine(data, "applications", "devicetrust-dtsh.desktop"));
        Assert.Contains("MimeType=x-scheme-handler/devicetrust;", entry, StringComparison.Ordinal);
        Assert.Contains("Terminal=true", entry, StringComparison.Ordinal);
        Assert.Matches(@"(?m)^Exec="".+"" ("".+dtsh\.dll"" )?device web-authenticate --pause %u$", entry);
        Assert.Contains("dtsh now opens devicetrust: addresses", registered, StringComparison.Ordinal);
        Assert.Equal("devicetrust-dtsh.desktop", await XdgMimeQueryAsync(data, config));
    }

    private static async Task<string> XdgMimeQueryAsync(string data, string config)
    {
        var start = new ProcessStartInfo("xdg-mime", ["query", "default", "x-scheme-handler/devicetrust"]) { RedirectStandardOutput = true, UseShellExecute = false };
        start.Environment["XDG_DATA_HOME"] = data;
        start.Environment["XDG_CONFIG_HOME"] = config;
        using var process = Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        return output.Trim();
    }
}
