using System.CommandLine;
using DeviceTrust.Client.Connection;
using DeviceTrust.Client.Devices;
using DeviceTrust.Client.Output;
using DeviceTrust.Client.Profiles;
using DeviceTrust.Core.Errors;
using DeviceTrust.Proto.V1;

namespace DeviceTrust.Cli.Dtsh.Device;

/// <summary>
/// <c>dtsh device enroll --token=T</c>; <c>--current-device</c> for users allowed to register devices and mint
/// tokens: registers this device if needed, mints a token and enrolls; or <c>--auto</c> where the cluster allows
/// auto-enrollment: a device of the inventory whose data matches its MDM profile enrolls without a token. The
/// logged-in user becomes the owner.
/// </summary>
public static class DeviceEnrollCommand
{
    public static Command Create(ProfileStore store)
    {
        var token = new Option<string?>("--token") { Description = "Enrollment token from dtctl devices add --enroll / dtctl devices enroll" };
        var current = new Option<bool>("--current-device") { Description = "Register this device if needed, mint a token and enroll it" };
        var auto = new Option<bool>("--auto") { Description = "Enroll without a token: this device must be in the inventory (from the MDM) and match its profile" };
        var software = new Option<bool>("--software-key") { Description = "Use a software key in the profile folder instead of a TPM (weaker: recorded as attestation unspecified)" };
        var command = new Command("enroll", "Enroll this device") { token, current, auto, software };
        command.SetAction((result, cancellationToken) => CliRunner.RunAsync(async () =>
        {
            var profile = CurrentProfile.Require(store);
            if ((result.GetValue(token) is null ? 0 : 1) + (result.GetValue(current) ? 1 : 0) + (result.GetValue(auto) ? 1 : 0) != 1)
            {
                throw DeviceTrustException.InvalidArgument("pass one of --token, --current-device or --auto");
            }
            var data = CollectWithSerial();
            var enrollToken = result.GetValue(token);
            var registered = false;
            if (enrollToken is null && !result.GetValue(auto))
            {
                using var channel = GatewayChannel.ForProfile(profile);
                (enrollToken, registered) = await SelfServiceTokenAsync(new DeviceTrustService.DeviceTrustServiceClient(channel), data, cancellationToken);
            }
            var device = await EnrollAsync(store, profile, enrollToken, result.GetValue(software), data, cancellationToken);
            Console.WriteLine($"Device \"{device.AssetTag}\"/{DeviceText.Os(device.OsType)} "
                              + (registered ? "registered and enrolled" : result.GetValue(auto) ? "enrolled (auto-enrollment)" : "enrolled"));
            return 0;
        }));
        return command;
    }

    /// <summary>This device's data, which must include its serial number (the inventory knows devices by it).</summary>
    public static DeviceCollectedData CollectWithSerial()
    {
        var data = DeviceDataCollector.Collect();
        if (data.SerialNumber.Length == 0)
        {
            throw DeviceTrustException.FailedPrecondition(
                $"could not read this device's serial number (DMI is missing or readable by root only): set {DeviceDataCollector.OverrideVariable} to a JSON file with serialNumber");
        }
        return data;
    }

    /// <summary>
    /// Enrolls this device with <paramref name="enrollToken"/>, or auto-enrolls it when null: with the TPM when there
    /// is one (unless <paramref name="software"/>), else a software key in the profile folder; records the credential.
    /// </summary>
    public static async Task<Proto.V1.Device> EnrollAsync(ProfileStore store, Profile profile, string? enrollToken, bool software, DeviceCollectedData data,
        CancellationToken cancellationToken)
    {
        var credentials = new DeviceCredentialStore(store.Directory);
        using var channel = GatewayChannel.ForProfile(profile);
        Proto.V1.Device device;
        DeviceCredentialInfo info;
        if (!software && DeviceCredentialStore.TpmAvailable)
        {
            using var tpm = Tpm.Device.TpmDevice.Open(DeviceCredentialStore.TpmSpec);
            device = await TpmCeremonies.EnrollAsync(channel, enrollToken, tpm, data, cancellationToken);
            info = new DeviceCredentialInfo(device.Credential.Id, DeviceCredentialStore.TpmKind, "", "", "");
        }
        else
        {
            var (key, created) = credentials.GetOrCreate(software);
            using (key)
            {
                device = await DeviceCeremonies.EnrollAsync(channel, enrollToken, created.CredentialId, key, data, cancellationToken);
            }
            info = created;
        }
        credentials.Save(info with { DeviceId = device.Id, AssetTag = device.AssetTag, OsType = DeviceText.Os(device.OsType) });
        return device;
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
