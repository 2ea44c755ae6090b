using System.CommandLine;
using DeviceTrust.Cli.Dtsh;
using DeviceTrust.Client.Profiles;

var store = ProfileStore.Default();
var root = new RootCommand("dtsh: log in to a DeviceTrust cluster from this device")
{
    LoginCommand.Create(store),
    StatusCommand.Create(store),
    LogoutCommand.Create(store),
};
return await root.Parse(args).InvokeAsync();
