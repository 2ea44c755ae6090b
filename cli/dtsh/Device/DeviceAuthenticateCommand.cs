using System.CommandLine;
using DeviceTrust.Client.Devices;
using DeviceTrust.Client.Output;
using DeviceTrust.Client.Profiles;

namespace DeviceTrust.Cli.Dtsh.Device;

/// <summary><c>dtsh device authenticate</c>: proves this device to the cluster and adds its identity to the current certificate.</summary>
public static class DeviceAuthenticateCommand
{
    public static Command Create(ProfileStore store)
    {
        var command = new Command("authenticate", "Authenticate this device and get a certificate that carries its identity");
        command.SetAction((_, cancellationToken) => CliRunner.RunAsync(async () =>
        {
            var profile = await DeviceLogin.AuthenticateAsync(CurrentProfile.Require(store), new DeviceCredentialStore(store.Directory), cancellationToken);
            store.Save(profile);
            Console.Write(StatusCommand.Describe(profile, DateTimeOffset.UtcNow));
            return 0;
        }));
        return command;
    }
}
