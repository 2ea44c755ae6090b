using System.CommandLine;
using DeviceTrust.Client.Output;
using DeviceTrust.Client.Profiles;
using DeviceTrust.Proto.V1;

namespace DeviceTrust.Cli.Dtctl.Devices;

/// <summary><c>dtctl devices rm --device-id X | --asset-tag Y</c>.</summary>
public static class DevicesRemoveCommand
{
    public static Command Create(ProfileStore store)
    {
        var selector = new DeviceSelector();
        var command = new Command("rm", "Remove a device from the inventory");
        selector.AddTo(command);
        command.SetAction((result, cancellationToken) => CliRunner.RunAsync(async () =>
        {
            using var client = AdminClient.Open(store);
            var device = await selector.ResolveAsync(result, client.Devices, cancellationToken);
            await client.Devices.DeleteDeviceAsync(new DeleteDeviceRequest { DeviceId = device.Id }, cancellationToken: cancellationToken);
            Console.WriteLine($"Device {device.AssetTag}/{DeviceOutput.Os(device.OsType)} removed from the inventory");
            return 0;
        }));
        return command;
    }
}
