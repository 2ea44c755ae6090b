using System.CommandLine;
using DeviceTrust.Client.Connection;
using DeviceTrust.Client.Devices;
using DeviceTrust.Client.Output;
using DeviceTrust.Client.Profiles;
using DeviceTrust.Core.Errors;
using DeviceTrust.Proto.V1;

namespace DeviceTrust.Cli.Dtsh.Device;

/// <summary>
/// <c>dtsh device enroll --token=T</c>, or <c>--current-device</c> for users allowed to register devices and mint
/// tokens: registers this device if needed, mints a token and enrolls. The logged-in user becomes the owner.
/// </summary>
public static class DeviceEnrollCommand
{
    public static Command Create(ProfileStore store)
    {
        var token = new Option<string?>("--token") { Description = "Enrollment token from dtctl devices add --enroll / dtctl devices enroll" };
        var current = new Option<bool>("--current-device") { Description = "Register this device if needed, mint a token and enroll it" };
        var software = new Option<bool>("--software-key") { Description = "Use a software key in the profile folder instead of a TPM (weaker: recorded as attestation unspecified)" };
        var command = new Command("enroll", "Enroll this device") { token, current, software };
        command.SetAction((result, cancellationToken) => CliRunner.RunAsync(async () =>
        {
            var profile = CurrentProfile.Require(store);
            if (result.GetValue(token) is null == !result.GetValue(current))
            {
                throw DeviceTrustException.InvalidArgument("pass either --token or --current-device");
            }
            var credentials = new DeviceCredentialStore(store.Directory);
            var data = DeviceDataCollector.Collect();
            if (data.SerialNumber.Length == 0)
            {
                throw DeviceTrustException.FailedPrecondition(
                    $"could not read this device's serial number (DMI is missing or readable by root only): set {DeviceDataCollector.OverrideVariable} to a JSON file with serialNumber");
            }
            using var channel = GatewayChannel.ForProfile(profile);
            var useTpm = !result.GetValue(software) && DeviceCredentialStore.TpmAvailable;
            var enrollToken = result.GetValue(token);
            var registered = false;
            if (enrollToken is null)
            {
                (enrollToken, registered) = await SelfServiceTokenAsync(new DeviceTrustService.DeviceTrustServiceClient(channel), data, cancellationToken);
            }
            Proto.V1.Device device;
            DeviceCredentialInfo info;
            if (useTpm)
            {
                using var tpm = Tpm.Device.TpmDevice.Open(DeviceCredentialStore.TpmSpec);
                device = await TpmCeremonies.EnrollAsync(channel, enrollToken, tpm, data, cancellationToken);
                info = new DeviceCredentialInfo(device.Credential.Id, DeviceCredentialStore.TpmKind, "", "", "");
            }
            else
            {
                var (key, created) = credentials.GetOrCreate(result.GetValue(software));
                using (key)
                {
                    device = await DeviceCeremonies.EnrollAsync(channel, enrollToken, created.CredentialId, key, data, cancellationToken);
                }
                info = created;
            }
            credentials.Save(info with { DeviceId = device.Id, AssetTag = device.AssetTag, OsType = DeviceText.Os(device.OsType) });
            Console.WriteLine($"Device \"{device.AssetTag}\"/{DeviceText.Os(device.OsType)} {(registered ? "registered and enrolled" : "enrolled")}");
            return 0;
        }));
        return command;
    }

    private static async Task<(string Token, bool Registered)> SelfServiceTokenAsync(DeviceTrustService.DeviceTrustServiceClient devices,
        DeviceCollectedData data, CancellationToken cancellationToken)
    {
        var found = (await devices.FindDevicesAsync(new FindDevicesRequest { IdOrTag = data.SerialNumber }, cancellationToken: cancellationToken))
            .Devices.FirstOrDefault(d => d.OsType == data.OsType);
        if (found is null)
        {
            var created = await devices.CreateDeviceAsync(new CreateDeviceRequest
            {
                OsType = data.OsType,
                AssetTag = data.SerialNumber,
                CreateEnrollToken = true,
            }, cancellationToken: cancellationToken);
            return (created.EnrollToken.Token, true);
        }
        var minted = await devices.CreateDeviceEnrollTokenAsync(new CreateDeviceEnrollTokenRequest { DeviceId = found.Id, DeviceData = data },
            cancellationToken: cancellationToken);
        return (minted.Token, false);
    }
}
