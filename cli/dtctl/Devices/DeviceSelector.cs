using System.CommandLine;
using DeviceTrust.Client.Output;
using DeviceTrust.Core.Errors;
using DeviceTrust.Proto.V1;

namespace DeviceTrust.Cli.Dtctl.Devices;

/// <summary><c>--device-id X | --asset-tag Y</c>, resolved to one device.</summary>
public sealed class DeviceSelector
{
    public Option<string?> DeviceId { get; } = new("--device-id") { Description = "The device's id" };
    public Option<string?> AssetTag { get; } = new("--asset-tag") { Description = "The device's asset tag (serial number)" };

    public void AddTo(Command command)
    {
        command.Options.Add(DeviceId);
        command.Options.Add(AssetTag);
    }

    public async Task<Device> ResolveAsync(ParseResult result, DeviceTrustService.DeviceTrustServiceClient devices, CancellationToken cancellationToken)
    {
        var id = result.GetValue(DeviceId);
        var tag = result.GetValue(AssetTag);
        if (id is null == tag is null)
        {
            throw DeviceTrustException.InvalidArgument("pass either --device-id or --asset-tag");
        }
        var found = (await devices.FindDevicesAsync(new FindDevicesRequest { IdOrTag = id ?? tag }, cancellationToken: cancellationToken)).Devices;
        return found.Count switch
        {
            0 => throw DeviceTrustException.NotFound($"device {id ?? tag} not found"),
            1 => found[0],
            _ => throw DeviceTrustException.InvalidArgument($"asset tag {tag} is used by {found.Count} devices (one per OS): use --device-id"),
        };
    }
}

internal static class DeviceOutput
{
    public static string Os(OSType os) => DeviceText.Os(os);

    public static OSType ParseOs(string text) => text switch
    {
        "linux" => OSType.Linux,
        "macos" => OSType.Macos,
        "windows" => OSType.Windows,
        _ => throw DeviceTrustException.InvalidArgument($"--os \"{text}\" is unknown: use linux, macos or windows"),
    };

    public static string Attestation(DeviceAttestationType type) => Core.Devices.AttestationPolicy.ToText((Core.Devices.AttestationType)(int)type);

    /// <summary>What an attestation class proves, in words a security engineer can act on.</summary>
    public static string Proves(DeviceCredential credential) => credential.DeviceAttestationType switch
    {
        DeviceAttestationType.TpmEkcertTrusted => credential.TpmEkcertCa.Length > 0
            ? $"EK certificate chains to {credential.TpmEkcertCa} (allowed): the TPM's maker vouches for this TPM"
            : "EK certificate chains to an allowed EK CA: the TPM's maker vouches for this TPM",
        DeviceAttestationType.TpmEkpubPinned => "EK is the one pinned in the inventory: the TPM the inventory recorded for this device",
        DeviceAttestationType.TpmEkcert => "EK certificate not verified: no EK CAs were configured at enrollment, so its issuer and serial are the device's claim",
        DeviceAttestationType.TpmEkpub => "EK public key not verified: software could have offered it",
        _ => "a key the device holds, no TPM evidence: software could hold it",
    };

    /// <summary>What the device reported at enrollment and at each authentication since (newest last).</summary>
    public static string History(Device device) =>
        string.Concat(device.CollectedData.Select((d, i) =>
            $"  {d.RecordTime.ToDateTimeOffset():u}  {(i == 0 ? "enrollment    " : "authentication")}  {Os(d.OsType)}{(d.OsId.Length > 0 ? "/" + d.OsId : "")} {(d.OsVersion.Length == 0 ? "(no version)" : d.OsVersion)}" +
            $"{(d.OsUsername.Length > 0 ? "  user " + d.OsUsername : "")}\n"));

    /// <summary>The last verified quote's boot facts, for TPM devices; the quoted PCRs are what golden values are written from.</summary>
    public static string Boot(Device device)
    {
        if (device.Boot is not { } boot)
        {
            return "";
        }
        var text = new System.Text.StringBuilder();
        text.Append($"Boot:          last verified {boot.VerifyTime.ToDateTimeOffset():u}\n");
        text.Append($"  Event log:   {(boot.EventLogSha256.Length == 0 ? "none sent" : $"sha256:{boot.EventLogSha256} ({boot.EventLogEvents} events)")}\n");
        text.Append($"  Secure Boot: {boot.SecureBoot switch
        {
            SecureBootState.Enabled => "enabled",
            SecureBootState.Disabled => "disabled",
            _ => "unknown: " + boot.SecureBootUnknown,
        }}\n");
        text.Append($"  dbx:         {(boot.DbxSha256Entries < 0 ? "not measured" : $"{boot.DbxSha256Entries} SHA-256 entries")}\n");
        foreach (var application in boot.BootApplications)
        {
            text.Append($"  EFI app:     sha256:{application}\n");
        }
        foreach (var pcr in boot.Pcrs)
        {
            text.Append($"  PCR {Tpm.Codec.TpmAlg.Name((ushort)pcr.DigestAlg).ToLowerInvariant()}:{pcr.Index,-2} {Convert.ToHexStringLower(pcr.Digest.Span)}\n");
        }
        return text.ToString();
    }

    public static string Status(DeviceEnrollStatus status) => status == DeviceEnrollStatus.Enrolled ? "enrolled" : "not enrolled";

    public static string Source(DeviceSource source) => source switch
    {
        DeviceSource.Jamf => "Jamf",
        DeviceSource.Intune => "Intune",
        _ => "API",
    };

    public static string TokenBlock(Device device, DeviceEnrollToken token) =>
        $"""
         The enrollment token: {token.Token}
         This token will expire in {Durations.Format(token.ExpireTime.ToDateTimeOffset() - DateTimeOffset.UtcNow + TimeSpan.FromSeconds(1))}.

         Run the command below on device "{device.AssetTag}" to enroll it:
         dtsh device enroll --token={token.Token}
         """;

    public static Google.Protobuf.WellKnownTypes.Duration? Ttl(string? text, string option) =>
        text is null ? null
        : Durations.TryParse(text, out var ttl) ? Google.Protobuf.WellKnownTypes.Duration.FromTimeSpan(ttl)
        : throw DeviceTrustException.InvalidArgument($"{option} \"{text}\" is not a duration like 30m");
}
