using System.CommandLine;
using DeviceTrust.Client.Output;
using DeviceTrust.Client.Profiles;
using DeviceTrust.Proto.V1;

namespace DeviceTrust.Cli.Dtctl.Devices;

/// <summary><c>dtctl devices unenroll --device-id X | --asset-tag Y</c>: the device's credential stops working.</summary>
public static class DevicesUnenrollCommand
{
    public static Command Create(ProfileStore store)
    {
        var selector = new DeviceSelector();
        var command = new Command("unenroll", "Unenroll a device (it must enroll again to authenticate)");
        selector.AddTo(command);
        command.SetAction((result, cancellationToken) => CliRunner.RunAsync(async () =>
        {
            using var client = AdminClient.Open(store);
            var device = await selector.ResolveAsync(result, client.Devices, cancellationToken);
            await client.Devices.UpdateDeviceAsync(new UpdateDeviceRequest { DeviceId = device.Id, Unenroll = true }, cancellationToken: cancellationToken);
            Console.WriteLine($"Device {device.AssetTag}/{DeviceOutput.Os(device.OsType)} unenrolled");
            return 0;
        }));
        return command;
    }
}
