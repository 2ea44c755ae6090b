using System.CommandLine;
using DeviceTrust.Cli.Dtsh;
using DeviceTrust.Cli.Dtsh.Device;
using DeviceTrust.Client.Diagnostics;
using DeviceTrust.Client.Profiles;

var store = ProfileStore.Default();
var trace = new Option<bool>("--trace")
{
    Description = $"Print where the command spent its time (also {ClientTrace.EnvironmentVariable}=1); with OTEL_EXPORTER_OTLP_ENDPOINT set, send the trace there too",
    Recursive = true,
};
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
root.Options.Add(trace);
var parsed = root.Parse(args);
if (parsed.Errors.Count > 0 || !ClientTrace.Requested(parsed.GetValue(trace)))
{
    return await parsed.InvokeAsync();
}
// Named by the command alone: its arguments may be secrets (an invitation token).
using (ClientTrace.Start("dtsh", CommandLineNames.Path(parsed.CommandResult), Console.Error))
{
    return await parsed.InvokeAsync();
}
