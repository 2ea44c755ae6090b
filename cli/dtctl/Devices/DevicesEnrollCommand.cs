using System.CommandLine;
using DeviceTrust.Client.Output;
using DeviceTrust.Client.Profiles;
using DeviceTrust.Proto.V1;

namespace DeviceTrust.Cli.Dtctl.Devices;

/// <summary><c>dtctl devices enroll --device-id X | --asset-tag Y [--ttl 30m]</c>: a new enrollment token.</summary>
public static class DevicesEnrollCommand
{
    public static Command Create(ProfileStore store)
    {
        var selector = new DeviceSelector();
        var ttl = new Option<string?>("--ttl") { Description = "How long the token stays valid (default 1h)" };
        var command = new Command("enroll", "Create an enrollment token for a device") { ttl };
        selector.AddTo(command);
        command.SetAction((result, cancellationToken) => CliRunner.RunAsync(async () =>
        {
            using var client = AdminClient.Open(store);
            var device = await selector.ResolveAsync(result, client.Devices, cancellationToken);
            var token = await client.Devices.CreateDeviceEnrollTokenAsync(
                new CreateDeviceEnrollTokenRequest { DeviceId = device.Id, Ttl = DeviceOutput.Ttl(result.GetValue(ttl), "--ttl") },
                cancellationToken: cancellationToken);
            Console.WriteLine(DeviceOutput.TokenBlock(device, token));
            return 0;
        }));
        return command;
    }
}
