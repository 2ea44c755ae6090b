using System.CommandLine;
using DeviceTrust.Client.Devices;
using DeviceTrust.Client.Output;
using DeviceTrust.Client.Profiles;

namespace DeviceTrust.Cli.Dtsh.Device;

/// <summary><c>dtsh device web-authenticate URL</c>: proves this device for a web console session (the console shows the URL).</summary>
public static class DeviceWebAuthenticateCommand
{
    public static Command Create(ProfileStore store)
    {
        var url = new Argument<string>("url") { Description = "The devicetrust://web-authenticate?… address the web console shows" };
        var command = new Command("web-authenticate", "Authenticate this device for a web console session and print the code to confirm it there") { url };
        command.SetAction((parsed, cancellationToken) => CliRunner.RunAsync(async () =>
        {
            var address = DeviceWebAddress.Parse(parsed.GetValue(url));
            var confirmation = await DeviceLogin.AuthenticateForWebAsync(CurrentProfile.Require(store), new DeviceCredentialStore(store.Directory), address,
                cancellationToken);
            Console.Write(
                $"""
                 Device {confirmation.AssetTag} is authenticated for your web console session.
                 Enter this confirmation code in the console within 5 minutes:

                     {confirmation.ConfirmationToken}

                 """);
            return 0;
        }));
        return command;
    }
}
