using System.CommandLine;
using DeviceTrust.Cli.Dtctl.Users;
using DeviceTrust.Client.Output;
using DeviceTrust.Client.Profiles;
using DeviceTrust.Core.Errors;
using DeviceTrust.Proto.V1;

namespace DeviceTrust.Cli.Dtctl.Devices;

/// <summary>
/// <c>dtctl devices update --device-id X | --asset-tag Y [--add-user a,b] [--remove-user c]</c>: who besides its owner
/// may authenticate with a device (several people can share one).
/// </summary>
public static class DevicesUpdateCommand
{
    public static Command Create(ProfileStore store)
    {
        var selector = new DeviceSelector();
        var add = new Option<string?>("--add-user") { Description = "Comma-separated users who may also authenticate with the device" };
        var remove = new Option<string?>("--remove-user") { Description = "Comma-separated users who may no longer" };
        var command = new Command("update", "Change who may authenticate with a device") { add, remove };
        selector.AddTo(command);
        command.SetAction((result, cancellationToken) => CliRunner.RunAsync(async () =>
        {
            var adding = UserStatus.SplitList(result.GetValue(add) ?? "");
            var removing = UserStatus.SplitList(result.GetValue(remove) ?? "");
            if (adding.Count + removing.Count == 0)
            {
                throw DeviceTrustException.InvalidArgument("nothing to update: pass --add-user or --remove-user");
            }
            using var client = AdminClient.Open(store);
            var device = await selector.ResolveAsync(result, client.Devices, cancellationToken);
            var request = new UpdateDeviceRequest { DeviceId = device.Id };
            request.AddUsers.AddRange(adding);
            request.RemoveUsers.AddRange(removing);
            var updated = await client.Devices.UpdateDeviceAsync(request, cancellationToken: cancellationToken);
            Console.WriteLine($"Device {updated.AssetTag}/{DeviceOutput.Os(updated.OsType)}: owner {(updated.Owner.Length == 0 ? "(none)" : updated.Owner)}, " +
                              $"users {(updated.Users.Count == 0 ? "(none)" : string.Join(", ", updated.Users.Select(u => u.Name)))}");
            return 0;
        }));
        return command;
    }
}
