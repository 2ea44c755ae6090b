using System.CommandLine;
using DeviceTrust.Cli.Dtsh;
using DeviceTrust.Cli.Dtsh.Device;
using DeviceTrust.Client.Profiles;

var store = ProfileStore.Default();
var root = new RootCommand("dtsh: log in to a DeviceTrust cluster from this device")
{
    LoginCommand.Create(store),
    StatusCommand.Create(store),
    LogoutCommand.Create(store),
    LsCommand.Create(store),
    SshCommand.Create(store),
    new Command("device", "This device: enroll, authenticate, inspect")
    {
        DeviceEnrollCommand.Create(store),
        DeviceAuthenticateCommand.Create(store),
        DeviceWebAuthenticateCommand.Create(store),
        DeviceInfoCommands.Collect(),
        DeviceInfoCommands.AssetTag(),
        DeviceInfoCommands.KeyGet(store),
    },
};
return await root.Parse(args).InvokeAsync();
