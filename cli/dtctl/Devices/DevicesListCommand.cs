using System.CommandLine;
using DeviceTrust.Client.Output;
using DeviceTrust.Client.Profiles;
using DeviceTrust.Proto.V1;

namespace DeviceTrust.Cli.Dtctl.Devices;

/// <summary><c>dtctl devices ls</c>: the inventory in a stable order, paged through the API.</summary>
public static class DevicesListCommand
{
    public static Command Create(ProfileStore store)
    {
        var format = Formats.Option();
        var command = new Command("ls", "List the device inventory") { format };
        command.SetAction((result, cancellationToken) => CliRunner.RunAsync(async () =>
        {
            var json = Formats.IsJson(result.GetValue(format)!);
            using var client = AdminClient.Open(store);
            var devices = new List<Device>();
            var page = "";
            do
            {
                var response = await client.Devices.ListDevicesAsync(new ListDevicesRequest { PageSize = 200, PageToken = page }, cancellationToken: cancellationToken);
                devices.AddRange(response.Devices);
                page = response.NextPageToken;
            }
            while (page.Length > 0);
            if (json)
            {
                Console.Write(Formats.Json(devices.Cast<Google.Protobuf.IMessage>()));
                return 0;
            }
            var table = new Table("Asset Tag", "OS", "Source", "Enroll Status", "Owner", "Device ID");
            foreach (var device in devices)
            {
                table.Add(device.AssetTag, DeviceOutput.Os(device.OsType), DeviceOutput.Source(device.Source), DeviceOutput.Status(device.EnrollStatus), device.Owner, device.Id);
            }
            Console.Write(table);
            return 0;
        }));
        return command;
    }
}
