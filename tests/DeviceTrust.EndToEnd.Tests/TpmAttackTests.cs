using DeviceTrust.Client.Connection;
using DeviceTrust.Client.Devices;
using DeviceTrust.Client.Profiles;
using DeviceTrust.Proto.V1;
using DeviceTrust.Testing;
using DeviceTrust.Tpm.Device;
using DeviceTrust.Tpm.Structures;
using DeviceTrust.Tpm.Verification;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;

namespace DeviceTrust.EndToEnd.Tests;

/// <summary>
/// Forged and replayed TPM evidence at the real gateway, with a real software TPM: each refused with its reason,
/// the device unchanged, the refusal audited.
/// </summary>
public sealed partial class TpmAttackTests(TpmCluster cluster) : IClassFixture<TpmCluster>, IDisposable
{
    private readonly GrpcChannel _admin = GatewayChannel.ForProfile(new ProfileStore(cluster.Admin.Home).Load()!);

    public void Dispose() => _admin.Dispose();

    private DeviceTrustService.DeviceTrustServiceClient Devices => new(_admin);

    private static DeviceCollectedData Data(string serial) => new() { OsType = OSType.Linux, SerialNumber = serial, OsVersion = "12" };

    /// <summary>The cluster's software TPM enrolled as a new device (it keeps one AK, so each test has a device of its own for it).</summary>
    private async Task<(Device Device, string CredentialId)> EnrolledTpmDeviceAsync(TpmDevice tpm)
    {
        var serial = "TA" + Guid.NewGuid().ToString("N")[..10].ToUpperInvariant();
        var created = await Devices.CreateDeviceAsync(new CreateDeviceRequest { OsType = OSType.Linux, AssetTag = serial, CreateEnrollToken = true });
        var device = await TpmCeremonies.EnrollAsync(_admin, created.EnrollToken.Token, tpm, Data(serial), default);
        return (device, device.Credential.Id);
    }

    /// <summary>Starts an authentication; with <paramref name="expectChallenge"/> false, the caller reads the (refused) answer itself.</summary>
    private async Task<(AsyncDuplexStreamingCall<AuthenticateDeviceRequest, AuthenticateDeviceResponse> Call, byte[] Nonce)> BeginAsync(Device device, string credentialId,
        bool expectChallenge = true)
    {
        var call = Devices.AuthenticateDevice();
        await call.RequestStream.WriteAsync(new AuthenticateDeviceRequest
        {
            Init = new AuthenticateDeviceInit { CredentialId = credentialId, DeviceData = Data(device.AssetTag), DeviceId = device.Id },
        });
        if (!expectChallenge)
        {
            return (call, []);
        }
        Assert.True(await call.ResponseStream.MoveNext());
        return (call, call.ResponseStream.Current.TpmChallenge.AttestationNonce.ToByteArray());
    }

    private static TPMAuthenticateDeviceChallengeResponse Answer(TpmDevice tpm, byte[] nonce, IReadOnlyList<PcrBank>? selection = null)
    {
        var (attest, signature, pcrs) = tpm.Quote(nonce, selection ?? TpmCeremonies.QuotedPcrs);
        var answer = new TPMAuthenticateDeviceChallengeResponse();
        answer.Quotes.Add(new TPMQuote { Quote = ByteString.CopyFrom(attest), Signature = ByteString.CopyFrom(signature) });
        answer.Pcrs.AddRange(pcrs.Select(p => new TPMPCR { Index = p.Index, Digest = ByteString.CopyFrom(p.Digest), DigestAlg = p.Hash }));
        return answer;
    }

    private async Task RefusedAsync(AsyncDuplexStreamingCall<AuthenticateDeviceRequest, AuthenticateDeviceResponse> call, TPMAuthenticateDeviceChallengeResponse answer,
        Device device, StatusCode status, string reason)
    {
        var before = (await Devices.GetDeviceAsync(new GetDeviceRequest { DeviceId = device.Id })).CollectedData.Count;
        await call.RequestStream.WriteAsync(new AuthenticateDeviceRequest { TpmChallengeResponse = answer });
        Refusals.Is(status, reason, await Refusals.Of(() => call.ResponseStream.MoveNext()));
        AuditTrail.IsRefusal(await AuditTrail.LastAsync(_admin, "device.authenticate", e => e.DeviceId == device.Id), status, reason);
        Assert.Equal(before, (await Devices.GetDeviceAsync(new GetDeviceRequest { DeviceId = device.Id })).CollectedData.Count);
    }

    [Fact]
    public async Task A_replayed_quote_and_a_quote_over_a_stale_nonce_are_refused()
    {
        using var tpm = TpmDevice.Open(cluster.Tpm.Tcti);
        var (device, credential) = await EnrolledTpmDeviceAsync(tpm);
        // a quote an eavesdropper recorded from a successful authentication
        var (first, firstNonce) = await BeginAsync(device, credential);
        var recorded = Answer(tpm, firstNonce);
        await first.RequestStream.WriteAsync(new AuthenticateDeviceRequest { TpmChallengeResponse = recorded });
        Assert.True(await first.ResponseStream.MoveNext());
        first.Dispose();
        var (replay, _) = await BeginAsync(device, credential);
        using (replay)
        {
            await RefusedAsync(replay, recorded, device, StatusCode.PermissionDenied, "quote nonce does not match the challenge");
        }
        // a nonce of another ceremony still in progress does not answer this one
        var (pending, pendingNonce) = await BeginAsync(device, credential);
        var (other, _) = await BeginAsync(device, credential);
        using (other)
        {
            await RefusedAsync(other, Answer(tpm, pendingNonce), device, StatusCode.PermissionDenied, "quote nonce does not match the challenge");
        }
        using (pending)
        {
            await pending.RequestStream.WriteAsync(new AuthenticateDeviceRequest { TpmChallengeResponse = Answer(tpm, pendingNonce) });
            Assert.True(await pending.ResponseStream.MoveNext());
            Assert.NotEmpty(pending.ResponseStream.Current.UserCertificates.X509Der);
        }
    }

    [Fact]
    public async Task A_quote_over_too_few_pcrs_or_with_log_entries_it_does_not_cover_is_refused_and_extra_banks_are_ignored()
    {
        using var tpm = TpmDevice.Open(cluster.Tpm.Tcti);
        var (device, credential) = await EnrolledTpmDeviceAsync(tpm);
        var (fewer, fewerNonce) = await BeginAsync(device, credential);
        using (fewer)
        {
            await RefusedAsync(fewer, Answer(tpm, fewerNonce, [new PcrBank(Tpm.Codec.TpmAlg.Sha256, [0, 1, 2, 3])]), device, StatusCode.PermissionDenied,
                "the quote does not cover PCR SHA256:4; the cluster requires SHA256:0-7");
        }
        // an event log with an entry for PCR 14, which the quote leaves out (the real client quotes what its log measures)
        var (uncovered, uncheckedNonce) = await BeginAsync(device, credential);
        using (uncovered)
        {
            var answer = Answer(tpm, uncheckedNonce);
            answer.EventLog = ByteString.CopyFrom(TcgLogWriter.Agile([(0, "firmware"), (14, "shim MOK list")], Tpm.Codec.TpmAlg.Sha256));
            await RefusedAsync(uncovered, answer, device, StatusCode.PermissionDenied,
                "the event log measures PCR 14, which the quote does not cover: its entries could not be checked");
        }
        // values of another bank and of PCRs the quote does not cover are dropped, not a reason to refuse
        var (extra, extraNonce) = await BeginAsync(device, credential);
        using (extra)
        {
            var answer = Answer(tpm, extraNonce);
            answer.Pcrs.Add(new TPMPCR { Index = 0, DigestAlg = Tpm.Codec.TpmAlg.Sha1, Digest = ByteString.CopyFrom(new byte[20]) });
            answer.Pcrs.Add(new TPMPCR { Index = 12, DigestAlg = Tpm.Codec.TpmAlg.Sha256, Digest = ByteString.CopyFrom(new byte[32]) });
            await extra.RequestStream.WriteAsync(new AuthenticateDeviceRequest { TpmChallengeResponse = answer });
            Assert.True(await extra.ResponseStream.MoveNext());
            Assert.NotEmpty(extra.ResponseStream.Current.UserCertificates.X509Der);
        }
    }

    [Fact]
    public async Task A_copy_of_a_tpms_state_is_refused_as_a_possible_clone_once_the_original_has_answered()
    {
        await using var original = await SoftwareTpm.StartAsync();
        (Device Device, string Credential) enrolled;
        using (var tpm = TpmDevice.Open(original.Tcti))
        {
            enrolled = await EnrolledTpmDeviceAsync(tpm);
        }
        await using var copy = await original.CloneAsync();
        // the original keeps running and proves itself, its clock an hour ahead of the copy's (as an hour of use would
        // leave it; TPM2_ClockSet only moves a clock forward). Both swtpm clocks run in real time from the same saved
        // value, so without this the copy is behind only by how much later it started: a race on a loaded machine.
        var clock = ulong.Parse(System.Text.RegularExpressions.Regex.Match((await original.ToolAsync("tpm2_readclock")).StdOut, @"clock: (\d+)").Groups[1].Value,
            System.Globalization.CultureInfo.InvariantCulture);
        await original.ToolAsync("tpm2_setclock", (clock + 3_600_000).ToString(System.Globalization.CultureInfo.InvariantCulture));
        using (var tpm = TpmDevice.Open(original.Tcti))
        {
            await AuthenticatedAsync(tpm, enrolled.Device, enrolled.Credential);
            await AuthenticatedAsync(tpm, enrolled.Device, enrolled.Credential);
        }
        // the copy has the same AK and answers every challenge correctly, but its clock is behind the original's
        using var clone = TpmDevice.Open(copy.Tcti);
        var before = (await Devices.GetDeviceAsync(new GetDeviceRequest { DeviceId = enrolled.Device.Id })).CollectedData.Count;
        var (call, nonce) = await BeginAsync(enrolled.Device, enrolled.Credential);
        using (call)
        {
            await call.RequestStream.WriteAsync(new AuthenticateDeviceRequest { TpmChallengeResponse = Answer(clone, nonce) });
            var refused = await Refusals.Of(() => call.ResponseStream.MoveNext());
            Assert.Equal(StatusCode.PermissionDenied, refused.StatusCode);
            Assert.StartsWith("possible clone: the TPM's clock went back from ", refused.Status.Detail);
            Assert.EndsWith(" ms within one boot (another copy of this TPM's state has answered before)", refused.Status.Detail);
            AuditTrail.IsRefusal(await AuditTrail.LastAsync(_admin, "device.authenticate", e => e.DeviceId == enrolled.Device.Id), StatusCode.PermissionDenied,
                refused.Status.Detail);
        }
        Assert.Equal(before, (await Devices.GetDeviceAsync(new GetDeviceRequest { DeviceId = enrolled.Device.Id })).CollectedData.Count);
        // the original reboots and is still itself; then the copy's boot counters are behind (an AK under the EK:
        // the counters are not obfuscated, so going back is refused too)
        await original.RestartAsync();
        using (var tpm = TpmDevice.Open(original.Tcti))
        {
            await AuthenticatedAsync(tpm, enrolled.Device, enrolled.Credential);
        }
        var (late, lateNonce) = await BeginAsync(enrolled.Device, enrolled.Credential);
        using (late)
        {
            await late.RequestStream.WriteAsync(new AuthenticateDeviceRequest { TpmChallengeResponse = Answer(clone, lateNonce) });
            var refused = await Refusals.Of(() => late.ResponseStream.MoveNext());
            Assert.Equal(StatusCode.PermissionDenied, refused.StatusCode);
            Assert.Matches(@"^possible clone or rollback: the TPM's boot counters went back \(reset (\d+) → (\d+), restart 0 → 0\)$", refused.Status.Detail);
            AuditTrail.IsRefusal(await AuditTrail.LastAsync(_admin, "device.authenticate", e => e.DeviceId == enrolled.Device.Id), StatusCode.PermissionDenied,
                refused.Status.Detail);
        }
    }

    private async Task AuthenticatedAsync(TpmDevice tpm, Device device, string credential)
    {
        var (call, nonce) = await BeginAsync(device, credential);
        using (call)
        {
            await call.RequestStream.WriteAsync(new AuthenticateDeviceRequest { TpmChallengeResponse = Answer(tpm, nonce) });
            Assert.True(await call.ResponseStream.MoveNext());
            Assert.NotEmpty(call.ResponseStream.Current.UserCertificates.X509Der);
        }
    }

    [Fact]
    public async Task Another_tpms_quote_over_the_right_nonce_is_refused()
    {
        using var tpm = TpmDevice.Open(cluster.Tpm.Tcti);
        var (device, credential) = await EnrolledTpmDeviceAsync(tpm);
        await using var otherTpm = await SoftwareTpm.StartAsync();
        using var impostor = TpmDevice.Open(otherTpm.Tcti);
        impostor.AttestationKey(impostor.EndorsementKey());
        var (call, nonce) = await BeginAsync(device, credential);
        using (call)
        {
            await RefusedAsync(call, Answer(impostor, nonce), device, StatusCode.PermissionDenied, "quote signature does not verify with the AK");
        }
    }

    [Fact]
    public async Task A_tpm_device_that_answers_with_a_key_signature_is_refused()
    {
        using var tpm = TpmDevice.Open(cluster.Tpm.Tcti);
        var (device, credential) = await EnrolledTpmDeviceAsync(tpm);
        var (call, _) = await BeginAsync(device, credential);
        using (call)
        {
            await call.RequestStream.WriteAsync(new AuthenticateDeviceRequest { KeyChallengeResponse = new KeyChallengeResponse { Signature = ByteString.CopyFrom(new byte[70]) } });
            const string Reason = "expected tpm_challenge_response, not KeyChallengeResponse";
            Refusals.Is(StatusCode.InvalidArgument, Reason, await Refusals.Of(() => call.ResponseStream.MoveNext()));
            AuditTrail.IsRefusal(await AuditTrail.LastAsync(_admin, "device.authenticate", e => e.DeviceId == device.Id), StatusCode.InvalidArgument, Reason);
        }
    }

    [Fact]
    public async Task Misshapen_or_oversized_tpm_evidence_is_refused_and_the_token_is_not_spent()
    {
        using var tpm = TpmDevice.Open(cluster.Tpm.Tcti);
        var ek = tpm.EndorsementKey();
        var ak = tpm.AttestationKey(ek);
        var serial = "TB" + Guid.NewGuid().ToString("N")[..10].ToUpperInvariant();
        var created = await Devices.CreateDeviceAsync(new CreateDeviceRequest { OsType = OSType.Linux, AssetTag = serial, CreateEnrollToken = true });
        EnrollDeviceRequest Init(Action<TPMEnrollPayload> change)
        {
            var payload = new TPMEnrollPayload
            {
                EkCert = ByteString.CopyFrom(ek.Certificate!),
                EkKey = ByteString.CopyFrom(ek.Public),
                AttestationParameters = new TPMAttestationParameters { Public = ByteString.CopyFrom(ak) },
            };
            change(payload);
            return new EnrollDeviceRequest
            {
                Init = new EnrollDeviceInit
                {
                    Token = created.EnrollToken.Token,
                    CredentialId = TpmCredentials.IdOf(TpmPublic.ParseSized(ak)),
                    DeviceData = Data(serial),
                    Tpm = payload,
                },
            };
        }
        var cases = new (Action<TPMEnrollPayload> Change, string Reason)[]
        {
            (p => p.EkKey = ByteString.CopyFrom(new byte[5000]), "tpm.ek_key is larger than 4096 bytes"),
            (p => p.EkCert = ByteString.CopyFrom(new byte[4097]), "tpm.ek_cert is larger than 4096 bytes"),
            (p => p.AttestationParameters = null, "tpm.attestation_parameters.public (the AK's TPM2B_PUBLIC) is required"),
            (p => p.AttestationParameters.CreateData = ByteString.CopyFrom(new byte[8]), "send all of create_data, create_attestation and create_signature, or none"),
        };
        foreach (var (change, reason) in cases)
        {
            using var call = Devices.EnrollDevice();
            await call.RequestStream.WriteAsync(Init(change));
            Refusals.Is(StatusCode.InvalidArgument, reason, await Refusals.Of(() => call.ResponseStream.MoveNext()));
            AuditTrail.IsRefusal(await AuditTrail.LastAsync(_admin, "device.enroll", e => e.AssetTag == serial), StatusCode.InvalidArgument, reason);
        }
        // the quote's shape is checked as it arrives: two quotes, or a PCR out of range, never reach the verifier
        foreach (var (change, reason) in new (Action<TPMEnrollChallengeResponse> Change, string Reason)[]
                 {
                     (r => r.Quotes.Add(r.Quotes[0]), "exactly one quote is expected, not 2"),
                     (r => r.Pcrs.Add(new TPMPCR { Index = 30, DigestAlg = 0x000B, Digest = ByteString.CopyFrom(new byte[32]) }), "PCR index 30 is out of range"),
                 })
        {
            var fresh = await Devices.CreateDeviceEnrollTokenAsync(new CreateDeviceEnrollTokenRequest { DeviceId = created.Id });
            using var call = Devices.EnrollDevice();
            var init = Init(_ => { });
            init.Init.Token = fresh.Token;
            await call.RequestStream.WriteAsync(init);
            Assert.True(await call.ResponseStream.MoveNext());
            var challenge = call.ResponseStream.Current.TpmChallenge;
            var secret = tpm.ActivateCredential(ek, challenge.EncryptedCredential.CredentialBlob.ToByteArray(), challenge.EncryptedCredential.Secret.ToByteArray());
            var (attest, signature, pcrs) = tpm.Quote(challenge.AttestationNonce.ToByteArray(), TpmCeremonies.QuotedPcrs);
            var answer = new TPMEnrollChallengeResponse { Solution = ByteString.CopyFrom(secret) };
            answer.Quotes.Add(new TPMQuote { Quote = ByteString.CopyFrom(attest), Signature = ByteString.CopyFrom(signature) });
            answer.Pcrs.AddRange(pcrs.Select(p => new TPMPCR { Index = p.Index, Digest = ByteString.CopyFrom(p.Digest), DigestAlg = p.Hash }));
            change(answer);
            await call.RequestStream.WriteAsync(new EnrollDeviceRequest { TpmChallengeResponse = answer });
            Refusals.Is(StatusCode.InvalidArgument, reason, await Refusals.Of(() => call.ResponseStream.MoveNext()));
            AuditTrail.IsRefusal(await AuditTrail.LastAsync(_admin, "device.enroll", e => e.AssetTag == serial), StatusCode.InvalidArgument, reason);
        }
        Assert.Equal(DeviceEnrollStatus.NotEnrolled, (await Devices.GetDeviceAsync(new GetDeviceRequest { DeviceId = created.Id })).EnrollStatus);
        // the refusals at init spent nothing: the first token still enrolls the device
        Assert.Equal(DeviceEnrollStatus.Enrolled, (await TpmCeremonies.EnrollAsync(_admin, created.EnrollToken.Token, tpm, Data(serial), default)).EnrollStatus);
    }

    [Fact]
    public async Task An_ek_unpinned_while_its_enrollment_is_in_progress_leaves_no_pinned_credential()
    {
        using var tpm = TpmDevice.Open(cluster.Tpm.Tcti);
        var ek = tpm.EndorsementKey();
        var ak = tpm.AttestationKey(ek);
        var pin = "sha256:" + Core.Devices.EkPin.Of(TpmPublic.ParseSized(ek.Public).SubjectPublicKeyInfo());
        var serial = "TP" + Guid.NewGuid().ToString("N")[..10].ToUpperInvariant();
        var created = await Devices.CreateDeviceAsync(new CreateDeviceRequest { OsType = OSType.Linux, AssetTag = serial, CreateEnrollToken = true, EkSha256 = pin });
        Assert.Equal(pin, created.PinnedEkSha256);
        using var call = Devices.EnrollDevice();
        await call.RequestStream.WriteAsync(new EnrollDeviceRequest
        {
            Init = new EnrollDeviceInit
            {
                Token = created.EnrollToken.Token,
                CredentialId = TpmCredentials.IdOf(TpmPublic.ParseSized(ak)),
                DeviceData = Data(serial),
                Tpm = new TPMEnrollPayload
                {
                    EkCert = ByteString.CopyFrom(ek.Certificate!),
                    EkKey = ByteString.CopyFrom(ek.Public),
                    AttestationParameters = new TPMAttestationParameters { Public = ByteString.CopyFrom(ak) },
                },
            },
        });
        Assert.True(await call.ResponseStream.MoveNext());
        var challenge = call.ResponseStream.Current.TpmChallenge;
        // the administrator unpins the EK while the device activates its credential
        await Devices.UpdateDeviceAsync(new UpdateDeviceRequest { DeviceId = created.Id, EkSha256 = "" });
        var secret = tpm.ActivateCredential(ek, challenge.EncryptedCredential.CredentialBlob.ToByteArray(), challenge.EncryptedCredential.Secret.ToByteArray());
        var quote = Answer(tpm, challenge.AttestationNonce.ToByteArray());
        var response = new TPMEnrollChallengeResponse { Solution = ByteString.CopyFrom(secret) };
        response.Quotes.AddRange(quote.Quotes);
        response.Pcrs.AddRange(quote.Pcrs);
        await call.RequestStream.WriteAsync(new EnrollDeviceRequest { TpmChallengeResponse = response });
        Assert.True(await call.ResponseStream.MoveNext());
        // enrolled, but as what it claims: the proof the pin gave is gone with the pin
        var enrolled = call.ResponseStream.Current.Success.Device;
        Assert.Equal((DeviceAttestationType.TpmEkcert, ""), (enrolled.Credential.DeviceAttestationType, enrolled.PinnedEkSha256));
        Assert.Equal(pin, enrolled.Credential.TpmEkSha256);
    }
}
