using DeviceTrust.Client.Devices;
using DeviceTrust.Proto.V1;
using DeviceTrust.Testing;
using DeviceTrust.Tpm.Codec;
using DeviceTrust.Tpm.Device;
using DeviceTrust.Tpm.EventLog;
using Google.Protobuf;
using Grpc.Core;
using static DeviceTrust.Testing.TcgLogWriter;

namespace DeviceTrust.EndToEnd.Tests;

/// <summary>
/// Measured boot, quoted PCRs and OS versions, through the real gateway with a real software TPM whose PCRs 4 and 7
/// are extended with the events of a log this test writes (as firmware would): each policy refusal names what
/// failed, changes nothing and is audited.
/// </summary>
public sealed partial class TpmAttackTests
{
    private static readonly byte[] Grub = Enumerable.Repeat((byte)0x6b, 32).ToArray();
    private static readonly byte[] Shim = Enumerable.Repeat((byte)0x5a, 32).ToArray();
    private static readonly byte[] Revoked = Enumerable.Repeat((byte)0x7c, 32).ToArray();

    private static Event SecureBootVariable(byte value) =>
        new(7, UefiEvents.EvEfiVariableDriverConfig, Variable(UefiEvents.GlobalVariable, "SecureBoot", [value]));

    /// <summary>Extends the cluster's TPM with <paramref name="events"/> once (SHA-256 bank), and returns their log.</summary>
    private async Task<byte[]> MeasuredBootAsync(params Event[] events)
    {
        foreach (var e in events)
        {
            await cluster.Tpm.ToolAsync("tpm2_pcrextend", $"{e.Pcr}:sha256={Convert.ToHexStringLower(Digest(e, TpmAlg.Sha256))}");
        }
        return Agile(events, TpmAlg.Sha256);
    }

    private async Task SetBootPolicyAsync(string yaml)
    {
        var file = cluster.Path($"boot-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(file, yaml);
        (await cluster.Admin.Dtctl("config", "set", "boot-policy", "-f", file)).Succeeded();
    }

    /// <summary>The answer a device with <paramref name="log"/> gives: the PCRs the challenge asked for and its log measures, and the log.</summary>
    private static TPMAuthenticateDeviceChallengeResponse AnswerWithLog(TpmDevice tpm, AsyncDuplexStreamingCall<AuthenticateDeviceRequest, AuthenticateDeviceResponse> call,
        byte[] nonce, byte[] log)
    {
        var answer = Answer(tpm, nonce, TpmCeremonies.PcrsFor(log, TpmCeremonies.Requested(call.ResponseStream.Current.TpmChallenge.QuotePcrs)));
        answer.EventLog = ByteString.CopyFrom(log);
        return answer;
    }

    [Fact]
    public async Task A_boot_policy_is_checked_at_enrollment_and_every_authentication_and_a_refusal_names_the_pcr_or_event()
    {
        // firmware with Secure Boot off, a dbx revoking one image, and one boot loader started (before the device opens
        // the TPM: swtpm serves one connection at a time)
        var dbx = new Event(7, UefiEvents.EvEfiVariableDriverConfig, Variable(UefiEvents.ImageSecurityDatabase, "dbx", Sha256SignatureList(Shim)));
        var loader = new Event(4, UefiEvents.EvEfiBootServicesApplication, new byte[40], Sha256: Grub);
        var log = await MeasuredBootAsync(SecureBootVariable(0), dbx, loader);
        var pcr7 = (await cluster.Tpm.ToolAsync("tpm2_pcrread", "sha256:7")).StdOut.Split("0x")[^1].Trim().ToLowerInvariant();
        using var tpm = TpmDevice.Open(cluster.Tpm.Tcti);
        var (device, credential) = await EnrolledTpmDeviceAsync(tpm);
        try
        {
            // at enrollment: golden values the TPM's PCR 0 does not have
            await SetBootPolicyAsync($"pcrs:\n  sha256:\n    0: [{new string('1', 64)}]\n");
            var serial = "TM" + Guid.NewGuid().ToString("N")[..10].ToUpperInvariant();
            var created = await Devices.CreateDeviceAsync(new CreateDeviceRequest { OsType = OSType.Linux, AssetTag = serial, CreateEnrollToken = true });
            var refused = await Refusals.Of(() => TpmCeremonies.EnrollAsync(_admin, created.EnrollToken.Token, tpm, Data(serial), default));
            Assert.Equal(StatusCode.PermissionDenied, refused.StatusCode);
            Assert.Matches("^PCR SHA256:0 is [0-9a-f]{64}, which the boot policy does not allow$", refused.Status.Detail);
            AuditTrail.IsRefusal(await AuditTrail.LastAsync(_admin, "device.enroll", e => e.AssetTag == serial), StatusCode.PermissionDenied, refused.Status.Detail);
            Assert.Equal(DeviceEnrollStatus.NotEnrolled, (await Devices.GetDeviceAsync(new GetDeviceRequest { DeviceId = created.Id })).EnrollStatus);

            // at every authentication: each rule, refused by name
            var cases = new (string Policy, byte[] Log, string Reason)[]
            {
                ("secure_boot: required\n", log, "Secure Boot is disabled (the SecureBoot variable measured in PCR 7 is 0), and the boot policy requires it"),
                // the attacker's first try: keep the digest the TPM was extended with, change the data to "enabled"
                ("secure_boot: required\n", Agile([SecureBootVariable(1) with { Digested = SecureBootVariable(0).Data }, dbx, loader], TpmAlg.Sha256),
                    "the boot policy requires Secure Boot, and it is not established: event 1 (EV_EFI_VARIABLE_DRIVER_CONFIG SecureBoot, PCR 7): " +
                    "its SHA256 digest is not the hash of its data, so its data is not what was measured"),
                ($"boot_applications: [{Convert.ToHexStringLower(Shim)}]\n", log,
                    $"boot application sha256:{Convert.ToHexStringLower(Grub)} (PCR 4) is not one the boot policy allows"),
                ($"dbx_must_revoke: [{Convert.ToHexStringLower(Revoked)}]\n", log,
                    $"the dbx measured in PCR 7 does not revoke sha256:{Convert.ToHexStringLower(Revoked)}, which the boot policy requires"),
                ("secure_boot: required\n", [], "the boot policy checks the event log, and the device sent none " +
                "(dtsh sends the firmware's log when it can read /sys/kernel/security/tpm0/binary_bios_measurements, root's by default, or its copy in /run/devicetrust/)"),
            };
            foreach (var (policy, sent, reason) in cases)
            {
                await SetBootPolicyAsync(policy);
                var (call, nonce) = await BeginAsync(device, credential);
                using (call)
                {
                    var answer = sent.Length == 0 ? Answer(tpm, nonce, TpmCeremonies.PcrsFor([], TpmCeremonies.Requested(call.ResponseStream.Current.TpmChallenge.QuotePcrs))) : AnswerWithLog(tpm, call, nonce, sent);
                    await RefusedAsync(call, answer, device, StatusCode.PermissionDenied, reason);
                }
            }

            // a policy the boot meets: the device gets in, and what its boot proved is kept and shown
            await SetBootPolicyAsync($"""
                pcrs:
                  sha256:
                    7: [{pcr7}]
                boot_applications: [sha256:{Convert.ToHexStringLower(Grub)}]
                dbx_must_revoke: [{Convert.ToHexStringLower(Shim)}]
                """);
            Assert.Contains($"7: [{pcr7}]", (await cluster.Admin.Dtctl("config", "get", "boot-policy")).Succeeded().StdOut);
            var (allowed, allowedNonce) = await BeginAsync(device, credential);
            using (allowed)
            {
                await allowed.RequestStream.WriteAsync(new AuthenticateDeviceRequest { TpmChallengeResponse = AnswerWithLog(tpm, allowed, allowedNonce, log) });
                Assert.True(await allowed.ResponseStream.MoveNext());
                Assert.NotEmpty(allowed.ResponseStream.Current.UserCertificates.X509Der);
            }
            var shown = (await cluster.Admin.Dtctl("devices", "get", "--device-id", device.Id)).Succeeded().StdOut;
            Assert.Contains($"Event log:   sha256:{Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(log))} (3 events)", shown);
            Assert.Contains("Secure Boot: disabled", shown);
            Assert.Contains("dbx:         1 SHA-256 entries", shown);
            Assert.Contains($"EFI app:     sha256:{Convert.ToHexStringLower(Grub)}", shown);
            Assert.Contains($"PCR sha256:7  {pcr7}", shown);

            // a policy that does not parse is refused with its line, and the one in force stays
            var bad = cluster.Path("bad-boot.yaml");
            await File.WriteAllTextAsync(bad, "pcrs:\n  sha256:\n    25: [00]\n");
            (await cluster.Admin.Dtctl("config", "set", "boot-policy", "-f", bad)).FailedWith("line 3: PCR \"25\" is not a number from 0 to 23");
            Assert.Contains($"7: [{pcr7}]", (await cluster.Admin.Dtctl("config", "get", "boot-policy")).Succeeded().StdOut);
        }
        finally
        {
            (await cluster.Admin.Dtctl("config", "set", "boot-policy", "none")).Succeeded();
        }
    }

    [Fact]
    public async Task The_quoted_pcr_set_and_minimum_os_versions_are_the_clusters_and_the_device_is_asked_for_what_is_required()
    {
        using var tpm = TpmDevice.Open(cluster.Tpm.Tcti);
        var (device, credential) = await EnrolledTpmDeviceAsync(tpm);
        (await cluster.Admin.Dtctl("config", "set", "quote-pcrs", "sha256:0-30")).FailedWith("quote-pcrs \"sha256:0-30\": PCRs 0-30 are not in 0-23 in order");
        Assert.Contains("quote_pcrs: sha256:0-9", (await cluster.Admin.Dtctl("config", "set", "quote-pcrs", "sha256:0-9")).Succeeded().StdOut);
        try
        {
            // the real client quotes what the challenge asks for
            var certificates = await TpmCeremonies.AuthenticateAsync(_admin, device.Id, credential, tpm, Data(device.AssetTag), default);
            Assert.NotEmpty(certificates.X509Der);
            var boot = (await Devices.GetDeviceAsync(new GetDeviceRequest { DeviceId = device.Id })).Boot;
            Assert.Equal(Enumerable.Range(0, 10), boot.Pcrs.Where(p => p.DigestAlg == TpmAlg.Sha256).Select(p => p.Index).Order());
            // a device that quotes only the old default is refused
            var (call, nonce) = await BeginAsync(device, credential);
            using (call)
            {
                await RefusedAsync(call, Answer(tpm, nonce), device, StatusCode.PermissionDenied, "the quote does not cover PCR SHA256:8; the cluster requires SHA256:0-9");
            }

            // OS versions: per OS, and per Linux distribution before the OS-wide one
            (await cluster.Admin.Dtctl("config", "set", "min-os-version", "linux=1x")).FailedWith("\"1x\" is not a version: use numbers and dots, like 12, 22.04 or 10.0.19045");
            Assert.Contains("min_os_versions: linux=13", (await cluster.Admin.Dtctl("config", "set", "min-os-version", "linux=13")).Succeeded().StdOut);
            var (old, _) = await BeginAsync(device, credential, expectChallenge: false);
            using (old)
            {
                const string Reason = "the device reports linux 12, older than the cluster's minimum 13 for linux: update its OS";
                Refusals.Is(StatusCode.PermissionDenied, Reason, await Refusals.Of(() => old.ResponseStream.MoveNext()));
                AuditTrail.IsRefusal(await AuditTrail.LastAsync(_admin, "device.authenticate", e => e.DeviceId == device.Id), StatusCode.PermissionDenied, Reason);
            }
            Assert.Contains("min_os_versions: linux=13 linux/debian=11",
                (await cluster.Admin.Dtctl("config", "set", "min-os-version", "linux/debian=11")).Succeeded().StdOut);
            var debian = Data(device.AssetTag);
            debian.OsId = "debian";
            Assert.NotEmpty((await TpmCeremonies.AuthenticateAsync(_admin, device.Id, credential, tpm, debian, default)).X509Der);
        }
        finally
        {
            (await cluster.Admin.Dtctl("config", "set", "quote-pcrs", "default")).Succeeded();
            (await cluster.Admin.Dtctl("config", "set", "min-os-version", "linux=none", "linux/debian=none")).Succeeded();
        }
    }
}
