using System.CommandLine;
using DeviceTrust.Client.Output;
using DeviceTrust.Client.Profiles;
using DeviceTrust.Proto.V1;

namespace DeviceTrust.Cli.Dtctl.Devices;

/// <summary><c>dtctl devices add --os linux --asset-tag C00AA0AAAA0A [--ek-pub FILE | --ek-hash sha256:…] [--enroll [--enroll-ttl 30m]]</c>.</summary>
public static class DevicesAddCommand
{
    public static Command Create(ProfileStore store)
    {
        var os = new Option<string>("--os") { Description = "linux, macos or windows", Required = true };
        var tag = new Option<string>("--asset-tag") { Description = "The device's asset tag (its serial number)", Required = true };
        var enroll = new Option<bool>("--enroll") { Description = "Also create an enrollment token" };
        var ttl = new Option<string?>("--enroll-ttl") { Description = "How long the token stays valid (default 1h)" };
        var ek = new EkOptions(mayUnpin: false);
        var command = new Command("add", "Add a device to the inventory") { os, tag, enroll, ttl };
        ek.AddTo(command);
        command.SetAction((result, cancellationToken) => CliRunner.RunAsync(async () =>
        {
            var request = new CreateDeviceRequest
            {
                OsType = DeviceOutput.ParseOs(result.GetValue(os)!),
                AssetTag = result.GetValue(tag),
                CreateEnrollToken = result.GetValue(enroll),
                EnrollTokenTtl = DeviceOutput.Ttl(result.GetValue(ttl), "--enroll-ttl"),
                EkSha256 = ek.Read(result) ?? "",
            };
            using var client = AdminClient.Open(store);
            var device = await client.Devices.CreateDeviceAsync(request, cancellationToken: cancellationToken);
            Console.WriteLine($"Device {device.AssetTag}/{DeviceOutput.Os(device.OsType)} added to the inventory" +
                              (device.PinnedEkSha256.Length > 0 ? $", EK pinned ({device.PinnedEkSha256})" : ""));
            if (device.EnrollToken is { } token)
            {
                Console.WriteLine();
                Console.WriteLine(DeviceOutput.TokenBlock(device, token));
            }
            return 0;
        }));
        return command;
    }
}
