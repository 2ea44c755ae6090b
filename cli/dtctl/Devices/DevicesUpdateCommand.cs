using System.CommandLine;
using DeviceTrust.Cli.Dtctl.Users;
using DeviceTrust.Client.Output;
using DeviceTrust.Client.Profiles;
using DeviceTrust.Core.Errors;
using DeviceTrust.Proto.V1;

namespace DeviceTrust.Cli.Dtctl.Devices;

/// <summary>
/// <c>dtctl devices update --device-id X | --asset-tag Y [--add-user a,b] [--remove-user c] [--ek-pub FILE | --ek-hash sha256:…|none]
/// [--model M] [--os-version V] [--os-build B] [--os-build-supplemental S]</c>: who besides its owner may authenticate
/// with a device (several people can share one), the EK it must enroll with, and its MDM profile (what an MDM sync
/// sets; auto-enrollment compares with it), each given field replacing the profile's.
/// </summary>
public static class DevicesUpdateCommand
{
    public static Command Create(ProfileStore store)
    {
        var selector = new DeviceSelector();
        var add = new Option<string?>("--add-user") { Description = "Comma-separated users who may also authenticate with the device" };
        var remove = new Option<string?>("--remove-user") { Description = "Comma-separated users who may no longer" };
        var ek = new EkOptions(mayUnpin: true);
        var model = new Option<string?>("--model") { Description = "MDM profile: the model identifier, e.g. MacBookPro18,3" };
        var version = new Option<string?>("--os-version") { Description = "MDM profile: the OS version" };
        var build = new Option<string?>("--os-build") { Description = "MDM profile: the OS build" };
        var supplemental = new Option<string?>("--os-build-supplemental") { Description = "MDM profile: the supplemental (rapid security response) build" };
        var command = new Command("update", "Change who may authenticate with a device, pin its EK, or set its MDM profile")
        {
            add, remove, model, version, build, supplemental,
        };
        selector.AddTo(command);
        ek.AddTo(command);
        command.SetAction((result, cancellationToken) => CliRunner.RunAsync(async () =>
        {
            var adding = UserStatus.SplitList(result.GetValue(add) ?? "");
            var removing = UserStatus.SplitList(result.GetValue(remove) ?? "");
            var pin = ek.Read(result);
            string?[] profileFields = [result.GetValue(model), result.GetValue(version), result.GetValue(build), result.GetValue(supplemental)];
            var setsProfile = profileFields.Any(f => f is not null);
            if (adding.Count + removing.Count == 0 && pin is null && !setsProfile)
            {
                throw DeviceTrustException.InvalidArgument(
                    "nothing to update: pass --add-user, --remove-user, --ek-pub, --ek-hash or a profile field (--model, --os-version, --os-build, --os-build-supplemental)");
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
            if (setsProfile)
            {
                var profile = device.Profile?.Clone() ?? new DeviceProfile();
                profile.ModelIdentifier = result.GetValue(model) ?? profile.ModelIdentifier;
                profile.OsVersion = result.GetValue(version) ?? profile.OsVersion;
                profile.OsBuild = result.GetValue(build) ?? profile.OsBuild;
                profile.OsBuildSupplemental = result.GetValue(supplemental) ?? profile.OsBuildSupplemental;
                profile.UpdateTime = null;
                request.Profile = profile;
            }
            var updated = await client.Devices.UpdateDeviceAsync(request, cancellationToken: cancellationToken);
            Console.WriteLine($"Device {updated.AssetTag}/{DeviceOutput.Os(updated.OsType)}: owner {(updated.Owner.Length == 0 ? "(none)" : updated.Owner)}, " +
                              $"users {(updated.Users.Count == 0 ? "(none)" : string.Join(", ", updated.Users.Select(u => u.Name)))}, " +
                              $"EK {(updated.PinnedEkSha256.Length == 0 ? "not pinned" : "pinned " + updated.PinnedEkSha256)}" +
                              (updated.Credential is null ? "" : $", credential {DeviceOutput.Attestation(updated.Credential.DeviceAttestationType)}")
                              + (setsProfile && updated.Profile is { } set
                                  ? $"; MDM profile: model {set.ModelIdentifier}, OS {set.OsVersion} build {set.OsBuild}"
                                    + (set.OsBuildSupplemental.Length == 0 ? "" : $" or {set.OsBuildSupplemental}")
                                  : ""));
            return 0;
        }));
        return command;
    }
}
