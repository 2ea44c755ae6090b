using System.CommandLine;
using DeviceTrust.Cli.Dtctl.Editing;
using DeviceTrust.Client.Output;
using DeviceTrust.Client.Profiles;
using DeviceTrust.Core.Devices;
using DeviceTrust.Core.Errors;
using DeviceTrust.Proto.V1;
using Grpc.Core;

namespace DeviceTrust.Cli.Dtctl.Devices;

/// <summary>
/// <c>dtctl devices edit ASSET_TAG|ID</c>: the device in <c>$EDITOR</c> (<see cref="DeviceYaml"/>), applied as one
/// UpdateDevice call, so an edit happens whole or not at all.
/// </summary>
public static class DevicesEditCommand
{
    public static Command Create(ProfileStore store)
    {
        var which = new Argument<string>("device") { Description = "The device's asset tag (its serial number) or id" };
        var command = new Command("edit", "Edit a device in $EDITOR: enroll_status (to not_enrolled), users, pinned EK, MDM profile") { which };
        command.SetAction((result, cancellationToken) => CliRunner.RunAsync(async () =>
        {
            using var client = AdminClient.Open(store);
            var found = (await client.Devices.FindDevicesAsync(new FindDevicesRequest { IdOrTag = result.GetValue(which) }, cancellationToken: cancellationToken)).Devices;
            var device = found.Count switch
            {
                0 => throw DeviceTrustException.NotFound($"device {result.GetValue(which)} not found"),
                1 => found[0],
                _ => throw DeviceTrustException.InvalidArgument($"asset tag {result.GetValue(which)} is used by {found.Count} devices (one per OS): give the device's id"),
            };
            var original = Document(device);
            using var editor = new ExternalEditor();
            var text = await editor.EditAsync(DeviceYaml.Write(original), device.AssetTag + ".yaml", cancellationToken);
            try
            {
                var request = text is null ? null : Changes(device, original, DeviceYaml.Parse(text, original));
                if (request is null)
                {
                    Console.WriteLine($"Device {device.AssetTag} is unchanged.");
                    return 0;
                }
                var updated = await client.Devices.UpdateDeviceAsync(request, cancellationToken: cancellationToken);
                Console.WriteLine($"Device {updated.AssetTag}/{DeviceOutput.Os(updated.OsType)} has been updated: "
                                  + $"{(updated.EnrollStatus == DeviceEnrollStatus.Enrolled ? DeviceYaml.Enrolled : DeviceYaml.NotEnrolled)}, "
                                  + $"users {(updated.Users.Count == 0 ? "(none)" : string.Join(", ", updated.Users.Select(u => u.Name)))}, "
                                  + $"EK {(updated.PinnedEkSha256.Length == 0 ? "not pinned" : "pinned " + updated.PinnedEkSha256)}");
                return 0;
            }
            catch (Exception e) when (e is DeviceTrustException || e is RpcException { StatusCode: StatusCode.InvalidArgument or StatusCode.NotFound or StatusCode.PermissionDenied })
            {
                return editor.Refused(e);
            }
        }));
        return command;
    }

    private static DeviceYaml.Document Document(Device device) => new(
        device.AssetTag,
        device.Id,
        DeviceOutput.Os(device.OsType),
        device.EnrollStatus == DeviceEnrollStatus.Enrolled ? DeviceYaml.Enrolled : DeviceYaml.NotEnrolled,
        device.Owner,
        device.Users.Select(u => u.Name).ToList(),
        device.PinnedEkSha256,
        new DeviceYaml.DeviceProfileFields(device.Profile?.ModelIdentifier ?? "", device.Profile?.OsVersion ?? "", device.Profile?.OsBuild ?? "",
            device.Profile?.OsBuildSupplemental ?? ""));

    /// <summary>The one update that turns <paramref name="original"/> into <paramref name="edited"/>, or null when they mean the same.</summary>
    private static UpdateDeviceRequest? Changes(Device device, DeviceYaml.Document original, DeviceYaml.Document edited)
    {
        var request = new UpdateDeviceRequest { DeviceId = device.Id, Unenroll = edited.EnrollStatus != original.EnrollStatus };
        request.AddUsers.AddRange(edited.Users.Except(original.Users, StringComparer.Ordinal).Distinct(StringComparer.Ordinal));
        request.RemoveUsers.AddRange(original.Users.Except(edited.Users, StringComparer.Ordinal));
        if (edited.EkSha256 != original.EkSha256)
        {
            request.EkSha256 = edited.EkSha256;
        }
        if (edited.Profile != original.Profile)
        {
            // The fields the document does not show (usernames, the MDM's id and assigned user) stay as they are.
            var profile = device.Profile?.Clone() ?? new Proto.V1.DeviceProfile();
            profile.ModelIdentifier = edited.Profile.ModelIdentifier;
            profile.OsVersion = edited.Profile.OsVersion;
            profile.OsBuild = edited.Profile.OsBuild;
            profile.OsBuildSupplemental = edited.Profile.OsBuildSupplemental;
            profile.UpdateTime = null;
            request.Profile = profile;
        }
        return request.Unenroll || request.AddUsers.Count + request.RemoveUsers.Count > 0 || request.HasEkSha256 || request.Profile is not null ? request : null;
    }
}
