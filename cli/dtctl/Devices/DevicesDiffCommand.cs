using System.CommandLine;
using DeviceTrust.Client.Devices;
using DeviceTrust.Client.Output;
using DeviceTrust.Client.Profiles;
using DeviceTrust.Core.Devices;
using DeviceTrust.Core.Errors;
using DeviceTrust.Proto.V1;

namespace DeviceTrust.Cli.Dtctl.Devices;

/// <summary>
/// <c>dtctl devices diff ASSET_TAG --collected FILE</c>: why a device does not auto-enroll. The device's MDM profile
/// beside what the device reported (<c>dtsh device collect</c> on it, saved to FILE), the fields auto-enrollment
/// compares marked where they differ, with the same rules the gateway applies.
/// </summary>
public static class DevicesDiffCommand
{
    public static Command Create(ProfileStore store)
    {
        var tag = new Argument<string>("asset-tag") { Description = "The device's asset tag (its serial number)" };
        var collected = new Option<string>("--collected") { Description = "The output of dtsh device collect on the device, saved to a file", Required = true };
        var command = new Command("diff", "Show a device's MDM profile beside the data it collected, and what auto-enrollment would say") { tag, collected };
        command.SetAction((result, cancellationToken) => CliRunner.RunAsync(async () =>
        {
            var data = DeviceDataCollector.ReadFile(result.GetValue(collected)!);
            using var client = AdminClient.Open(store);
            var found = (await client.Devices.FindDevicesAsync(new FindDevicesRequest { IdOrTag = result.GetValue(tag) }, cancellationToken: cancellationToken)).Devices;
            var device = (found.Count > 1 ? found.Where(d => d.OsType == data.OsType).ToList() : found.ToList()) switch
            {
                [] => throw DeviceTrustException.NotFound($"device {result.GetValue(tag)} not found"),
                [var one] => one,
                var several => throw DeviceTrustException.InvalidArgument($"asset tag {result.GetValue(tag)} is used by {several.Count} devices: the collected data's OS does not say which"),
            };
            Console.Write(Describe(device, data));
            return 0;
        }));
        return command;
    }

    public static string Describe(Device device, DeviceCollectedData data)
    {
        var text = new System.Text.StringBuilder();
        var enrolled = device.EnrollStatus == DeviceEnrollStatus.Enrolled ? $"enrolled by {device.Owner}" : "not enrolled";
        text.AppendLine($"Device {device.AssetTag}/{DeviceText.Os(device.OsType)} (source {DeviceOutput.Source(device.Source)}), {enrolled}");
        if (device.Profile is not { } profile)
        {
            text.AppendLine("It has no MDM profile: auto-enrollment has nothing to compare with.");
            return text.ToString();
        }
        var mdm = new MdmFacts(device.AssetTag, Core(device.OsType), profile.ModelIdentifier, profile.OsVersion, profile.OsBuild, profile.OsBuildSupplemental);
        var reported = new ReportedFacts(data.SerialNumber, Core(data.OsType), data.ModelIdentifier, data.OsVersion, data.OsBuild);
        var fields = AutoEnrollment.Compare(mdm, reported);
        var table = new Table("", "Field", "MDM profile", "Collected");
        foreach (var field in fields)
        {
            table.Add(field.Matches ? " " : "✗", field.Field, Shown(field.Expected) + (field.Alternative.Length == 0 ? "" : $" or {field.Alternative}"), Shown(field.Got));
        }
        text.Append(table);
        var first = fields.FirstOrDefault(f => !f.Matches);
        text.AppendLine(device.EnrollStatus == DeviceEnrollStatus.Enrolled
            ? "Auto-enrollment: refused, the device is already enrolled (dtctl devices unenroll first)."
            : first is null
                ? "Auto-enrollment: the data matches (it also needs auto-enroll on and a user with device: enroll)."
                : $"Auto-enrollment: refused, {first.Reason}.");
        return text.ToString();
    }

    private static string Shown(string value) => value.Length == 0 ? "(none)" : value;

    private static OsType Core(OSType os) => os == OSType.Unspecified ? OsType.Unspecified : OsTypes.Parse(DeviceText.Os(os));
}
