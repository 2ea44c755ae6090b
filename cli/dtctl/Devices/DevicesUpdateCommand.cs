using System.CommandLine;
using DeviceTrust.Cli.Dtctl.Users;
using DeviceTrust.Client.Output;
using DeviceTrust.Client.Profiles;
using DeviceTrust.Core.Errors;
using DeviceTrust.Proto.V1;

namespace DeviceTrust.Cli.Dtctl.Devices;

/// <summary>
/// <c>dtctl devices update --device-id X | --asset-tag Y [--add-user a,b] [--remove-user c] [--ek-pub FILE | --ek-hash sha256:…|none]</c>:
/// who besides its owner may authenticate with a device (several people can share one), and the EK it must enroll with.
/// </summary>
public static class DevicesUpdateCommand
{
    public static Command Create(ProfileStore store)
    {
        var selector = new DeviceSelector();
        var add = new Option<string?>("--add-user") { Description = "Comma-separated users who may also authenticate with the device" };
        var remove = new Option<string?>("--remove-user") { Description = "Comma-separated users who may no longer" };
        var ek = new EkOptions(mayUnpin: true);
        var command = new Command("update", "Change who may authenticate with a device, or pin its EK") { add, remove };
        selector.AddTo(command);
        ek.AddTo(command);
        command.SetAction((result, cancellationToken) => CliRunner.RunAsync(async () =>
        {
            var adding = UserStatus.SplitList(result.GetValue(add) ?? "");
            var removing = UserStatus.SplitList(result.GetValue(remove) ?? "");
            var pin = ek.Read(result);
            if (adding.Count + removing.Count == 0 && pin is null)
            {
                throw DeviceTrustException.InvalidArgument("nothing to update: pass --add-user, --remove-user, --ek-pub or --ek-hash");
            }
            using var client = AdminClient.Open(store);
            var device = await selector.ResolveAsync(result, client.Devices, cancellationToken);
            var request = new UpdateDeviceRequest { DeviceId = device.Id };
            request.AddUsers.AddRange(adding);
            request.RemoveUsers.AddRange(removing);
            if (pin is not null)
            {
                request.EkSha256 = pin;
            }
            var updated = await client.Devices.UpdateDeviceAsync(request, cancellationToken: cancellationToken);
            Console.WriteLine($"Device {updated.AssetTag}/{DeviceOutput.Os(updated.OsType)}: owner {(updated.Owner.Length == 0 ? "(none)" : updated.Owner)}, " +
                              $"users {(updated.Users.Count == 0 ? "(none)" : string.Join(", ", updated.Users.Select(u => u.Name)))}, " +
                              $"EK {(updated.PinnedEkSha256.Length == 0 ? "not pinned" : "pinned " + updated.PinnedEkSha256)}" +
                              (updated.Credential is null ? "" : $", credential {DeviceOutput.Attestation(updated.Credential.DeviceAttestationType)}"));
            return 0;
        }));
        return command;
    }
}
