using System.CommandLine;
using DeviceTrust.Client.Output;
using DeviceTrust.Client.Profiles;

namespace DeviceTrust.Cli.Dtctl.Devices;

/// <summary><c>dtctl devices get --device-id X | --asset-tag Y</c>.</summary>
public static class DevicesGetCommand
{
    public static Command Create(ProfileStore store)
    {
        var selector = new DeviceSelector();
        var format = Formats.Option();
        var command = new Command("get", "Show one device") { format };
        selector.AddTo(command);
        command.SetAction((result, cancellationToken) => CliRunner.RunAsync(async () =>
        {
            var json = Formats.IsJson(result.GetValue(format)!);
            using var client = AdminClient.Open(store);
            var device = await selector.ResolveAsync(result, client.Devices, cancellationToken);
            Console.Write(json
                ? Formats.Json(device)
                : $"""
                   Device ID:     {device.Id}
                   Asset Tag:     {device.AssetTag}
                   OS:            {DeviceOutput.Os(device.OsType)}
                   Source:        {DeviceOutput.Source(device.Source)}{(device.SourceName.Length == 0 ? "" : $" ({device.SourceName})")}
                   MDM profile:   {Profile(device.Profile)}
                   Enroll Status: {DeviceOutput.Status(device.EnrollStatus)}
                   Owner:         {(device.Owner.Length == 0 ? "(none)" : $"{device.Owner} (user id {device.OwnerId})")}
                   Users:         {(device.Users.Count == 0 ? "(none)" : string.Join(", ", device.Users.Select(u => u.Name)))}
                   Credential:    {(device.Credential is null ? "(none)" : $"{device.Credential.Id} ({DeviceOutput.Attestation(device.Credential.DeviceAttestationType)})")}
                   Proves:        {(device.Credential is null ? "(nothing: not enrolled)" : DeviceOutput.Proves(device.Credential))}
                   EK:            {(device.Credential is { TpmEkSha256.Length: > 0 } ek ? ek.TpmEkSha256 : "(none recorded)")}
                   EK pinned:     {(device.PinnedEkSha256.Length == 0 ? "(none)" : device.PinnedEkSha256)}
                   Created:       {device.CreateTime.ToDateTimeOffset():u}
                   Updated:       {device.UpdateTime.ToDateTimeOffset():u}
                   Data records:  {device.CollectedData.Count}
                   {DeviceOutput.History(device)}{DeviceOutput.Boot(device)}
                   """);
            return 0;
        }));
        return command;
    }

    private static string Profile(Proto.V1.DeviceProfile? profile) =>
        profile is null || (profile.ModelIdentifier + profile.OsVersion + profile.OsBuild + profile.OsBuildSupplemental).Length == 0
            ? "(none)"
            : $"model {Or(profile.ModelIdentifier)}, OS {Or(profile.OsVersion)} build {Or(profile.OsBuild)}"
              + (profile.OsBuildSupplemental.Length == 0 ? "" : $" or {profile.OsBuildSupplemental}")
              + (profile.AssignedUser.Length == 0 ? "" : $", assigned to {profile.AssignedUser}")
              + (profile.ExternalId.Length == 0 ? "" : $", MDM id {profile.ExternalId}");

    private static string Or(string value) => value.Length == 0 ? "-" : value;
}
