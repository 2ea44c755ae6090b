using System.CommandLine;
using System.Diagnostics;
using DeviceTrust.Client.Devices;
using DeviceTrust.Client.Output;
using DeviceTrust.Client.Profiles;
using DeviceTrust.Core.Errors;

namespace DeviceTrust.Cli.Dtsh.Device;

/// <summary>
/// <c>dtsh device web-authenticate URL</c>: proves this device for a web console session (the console shows the URL);
/// <c>--register-handler</c> makes dtsh the desktop's handler of devicetrust: addresses.
/// </summary>
public static class DeviceWebAuthenticateCommand
{
    public const string DesktopFile = "devicetrust-dtsh.desktop";
    public const string MimeType = "x-scheme-handler/devicetrust";

    public static Command Create(ProfileStore store)
    {
        var url = new Argument<string?>("url") { Description = "The devicetrust://web-authenticate?… address the web console shows", Arity = ArgumentArity.ZeroOrOne };
        var register = new Option<bool>("--register-handler") { Description = "Register dtsh as this desktop's handler of devicetrust: addresses (a .desktop file and xdg-mime)" };
        var pause = new Option<bool>("--pause") { Description = "Wait for Enter before exiting (the terminal a browser opens for the handler stays readable)" };
        var command = new Command("web-authenticate", "Authenticate this device for a web console session and print the code to confirm it there") { url, register, pause };
        command.SetAction(async (parsed, cancellationToken) =>
        {
            var exit = await CliRunner.RunAsync(async () =>
            {
                if (parsed.GetValue(register))
                {
                    return RegisterHandler();
                }
                var address = DeviceWebAddress.Parse(parsed.GetValue(url) ?? throw DeviceTrustException.InvalidArgument(
                    "give the devicetrust://web-authenticate?… address the web console shows, or --register-handler"));
                var confirmation = await DeviceLogin.AuthenticateForWebAsync(CurrentProfile.Require(store), new DeviceCredentialStore(store.Directory), address,
                    cancellationToken);
                Console.Write(
                    $"""
                     Device {confirmation.AssetTag} is authenticated for your web console session.
                     Enter this confirmation code in the console {Before(confirmation)}:

                         {confirmation.ConfirmationToken}

                     """);
                return 0;
            });
            if (parsed.GetValue(pause) && !Console.IsInputRedirected)
            {
                Console.WriteLine("Press Enter to close.");
                Console.ReadLine();
            }
            return exit;
        });
        return command;
    }

    /// <summary>
    /// Writes the .desktop file (in <c>$XDG_DATA_HOME/applications</c>, else <c>~/.local/share/applications</c>) that
    /// runs this dtsh in a terminal for a devicetrust: address, and makes it the default with xdg-mime when present.
    /// </summary>
    /// <summary>"within 4m59s" from the code's expiry as the gateway gave it (a gateway that gives none: its default 5 minutes).</summary>
    private static string Before(Proto.V1.DeviceWebConfirmation confirmation)
    {
        var left = confirmation.ExpireTime is { } expires ? expires.ToDateTimeOffset() - DateTimeOffset.UtcNow : TimeSpan.FromMinutes(5);
        return $"within {Durations.Format(TimeSpan.FromSeconds(Math.Floor(Math.Max(0, left.TotalSeconds))))}";
    }

    private static int RegisterHandler()
    {
        var data = Environment.GetEnvironmentVariable("XDG_DATA_HOME") is { Length: > 0 } xdg
            ? xdg
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "share");
        var applications = Path.Combine(data, "applications");
        Directory.CreateDirectory(applications);
        var file = Path.Combine(applications, DesktopFile);
        File.WriteAllText(file,
            $"""
             [Desktop Entry]
             Type=Application
             Name=DeviceTrust device web authentication
             Comment=Proves this device for a DeviceTrust web console session
             Exec={Self()} device web-authenticate --pause %u
             Terminal=true
             NoDisplay=true
             MimeType={MimeType};

             """);
        Console.WriteLine($"Wrote {file}.");
        try
        {
            using var xdgMime = Process.Start(new ProcessStartInfo("xdg-mime", ["default", DesktopFile, MimeType]) { UseShellExecute = false })!;
            xdgMime.WaitForExit();
            Console.WriteLine(xdgMime.ExitCode == 0
                ? $"dtsh now opens devicetrust: addresses (xdg-mime default {DesktopFile} {MimeType})."
                : $"xdg-mime failed (exit code {xdgMime.ExitCode}); run: xdg-mime default {DesktopFile} {MimeType}");
            return xdgMime.ExitCode == 0 ? 0 : 1;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            Console.WriteLine($"xdg-mime is not installed (apt-get install xdg-utils); then run: xdg-mime default {DesktopFile} {MimeType}");
            return 0;
        }
    }

    /// <summary>How the desktop starts this dtsh: its own executable, or the dotnet host with its assembly.</summary>
    private static string Self()
    {
        var process = Environment.ProcessPath ?? throw DeviceTrustException.FailedPrecondition("cannot tell where this dtsh is installed");
        return Path.GetFileNameWithoutExtension(process) == "dotnet"
            ? $"{Quote(process)} {Quote(typeof(DeviceWebAuthenticateCommand).Assembly.Location)}"
            : Quote(process);
    }

    /// <summary>A desktop entry's Exec argument: quoted, with its reserved characters escaped (Desktop Entry Specification, "Exec key").</summary>
    private static string Quote(string argument) =>
        "\"" + argument.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal)
            .Replace("`", "\\`", StringComparison.Ordinal).Replace("$", "\\$", StringComparison.Ordinal).Replace("%", "%%", StringComparison.Ordinal) + "\"";
}
