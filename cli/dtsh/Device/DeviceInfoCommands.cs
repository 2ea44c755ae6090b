using System.CommandLine;
using DeviceTrust.Client.Devices;
using DeviceTrust.Client.Output;
using DeviceTrust.Client.Profiles;
using DeviceTrust.Core.Errors;

namespace DeviceTrust.Cli.Dtsh.Device;

/// <summary><c>dtsh device collect | asset-tag | keyget</c>: what this device would send, offline.</summary>
public static class DeviceInfoCommands
{
    public static Command Collect()
    {
        var command = new Command("collect", "Print the device data this device reports, as JSON");
        command.SetAction(_ => CliRunner.RunAsync(() =>
        {
            Console.WriteLine(DeviceDataCollector.ToJson(DeviceDataCollector.Collect()));
            return Task.FromResult(0);
        }));
        return command;
    }

    public static Command AssetTag()
    {
        var command = new Command("asset-tag", "Print this device's asset tag (its serial number)");
        command.SetAction(_ => CliRunner.RunAsync(() =>
        {
            var serial = DeviceDataCollector.Collect().SerialNumber;
            if (serial.Length == 0)
            {
                throw DeviceTrustException.FailedPrecondition($"this device's serial number is unknown: set {DeviceDataCollector.OverrideVariable}");
            }
            Console.WriteLine(serial);
            return Task.FromResult(0);
        }));
        return command;
    }

    public static Command KeyGet(ProfileStore store)
    {
        var command = new Command("keyget", "Print this device's credential: id, public key, type");
        command.SetAction(_ => CliRunner.RunAsync(() =>
        {
            var credentials = new DeviceCredentialStore(store.Directory);
            var info = credentials.Info ?? throw DeviceTrustException.NotFound("this device has no credential yet: dtsh device enroll creates one");
            byte[] publicKey;
            if (info.Kind == DeviceCredentialStore.TpmKind)
            {
                using var tpm = Tpm.Device.TpmDevice.Open(DeviceCredentialStore.TpmSpec);
                publicKey = Tpm.Structures.TpmPublic.ParseSized(tpm.AttestationKey(tpm.EndorsementKey())).SubjectPublicKeyInfo();
            }
            else
            {
                using var key = credentials.LoadKey();
                publicKey = key.ExportSubjectPublicKeyInfo();
            }
            Console.WriteLine($"Credential ID: {info.CredentialId}");
            Console.WriteLine($"Public key:    {Convert.ToBase64String(publicKey)}");
            Console.WriteLine($"Type:          {(info.Kind == DeviceCredentialStore.TpmKind ? "tpm (attestation key in the TPM)" : "software (attestation: unspecified)")}");
            if (info.DeviceId.Length > 0)
            {
                Console.WriteLine($"Device:        {info.AssetTag}/{info.OsType} ({info.DeviceId})");
            }
            return Task.FromResult(0);
        }));
        return command;
    }
}
