using DeviceTrust.Core.Audit;
using DeviceTrust.Core.Devices;
using DeviceTrust.Core.Errors;
using DeviceTrust.Core.Roles;
using DeviceTrust.Core.Secrets;
using DeviceTrust.Gateway.Audit;
using DeviceTrust.Gateway.Authentication;
using DeviceTrust.Gateway.Errors;
using DeviceTrust.Gateway.Hosting;
using DeviceTrust.Gateway.Policy;
using DeviceTrust.Gateway.Services;
using DeviceTrust.Grains.Inventory;
using DeviceTrust.Grains.Tokens;
using DeviceTrust.Proto.V1;
using Google.Protobuf;
using Grpc.Core;
using DeviceUser = DeviceTrust.Core.Devices.DeviceUser;

namespace DeviceTrust.Gateway.Ceremonies;

/// <summary>
/// EnrollDevice: init{token, credential, device data, key} → spend the token, check the data against the
/// inventory → challenge → signature verified with the offered key → success{device}. The token is the
/// authorization: an administrator minted it for this one device. Every ceremony ends in exactly one audit event
/// with its real reason (also when abandoned or timed out); the caller of a bad token only learns "invalid device
/// enrollment token".
/// </summary>
public sealed class EnrollmentCeremony(
    IGrainFactory grains,
    IdentityCache identities,
    AuditRecorder audit,
    SampledAudit refusals,
    RateLimits limits,
    DeviceStates deviceStates,
    GatewayOptions options,
    TimeProvider time)
{
    public const string InvalidToken = "invalid device enrollment token";

    public Task RunAsync(IAsyncStreamReader<EnrollDeviceRequest> requests, IServerStreamWriter<EnrollDeviceResponse> responses,
        ServerCallContext context)
    {
        var caller = Caller.Of(context);
        var record = audit.Begin(AuditCodes.DeviceEnroll, context, caller);
        return AuditedCall.RunAsync(record, refusals, async () =>
        {
            CeremonyLimits.Admit(limits, context, caller);
            using var stream = new CeremonyStream<EnrollDeviceRequest>(requests, options.CeremonyFirstMessageTimeout, options.CeremonyTimeout,
                context.CancellationToken);
            var first = await stream.NextAsync("init");
            if (first.PayloadCase != EnrollDeviceRequest.PayloadOneofCase.Init)
            {
                throw DeviceTrustException.InvalidArgument($"the first message must be init, not {Describe(first.PayloadCase)}");
            }
            var init = first.Init;
            var credentialId = DeviceFields.CredentialId(init.CredentialId);
            var data = DeviceMapping.FromProto(init.DeviceData, time.GetUtcNow());
            record.Describe(credentialId, data);
            var policy = TpmEvidence.Policy((await identities.ConfigAsync()).DeviceTrust);
            var (publicKey, offer) = init.DeviceCase switch
            {
                EnrollDeviceInit.DeviceOneofCase.Key => (Core.Devices.KeyChallenge.ValidatePublicKey(init.Key.PublicKeyDer.Span), null),
                EnrollDeviceInit.DeviceOneofCase.Tpm => ((byte[]?)null, TpmEvidence.Offer(init.Tpm, credentialId)),
                _ => throw DeviceTrustException.InvalidArgument("init must carry the device's key (key or tpm)"),
            };
            var deviceId = init.AutoEnroll
                ? await AutoEnrollAsync(record, caller, init, data)
                : await SpendTokenAsync(record, caller, init.Token);
            if ((await identities.LocksAsync()).Against(caller.User.Id.ToString(), caller.User.Roles, deviceId.ToString(), time.GetUtcNow()) is [var locked, ..])
            {
                throw DeviceTrustException.PermissionDenied(locked.Reason);
            }
            var device = grains.GetGrain<IDeviceGrain>(deviceId);
            var owner = new DeviceUser(caller.User.Id.ToString(), caller.Name);
            var enrolled = await AnswerOrRecordedAsync(device, () => offer is null
                    ? EnrollKeyAsync(device, stream, responses, credentialId, publicKey!, data, owner, policy)
                    : EnrollTpmAsync(device, stream, responses, offer, data, owner, policy),
                recorded => recorded.Credential is { } credential && credential.Id == credentialId && recorded.OwnerId == owner.Id
                            && (offer is null ? credential.PublicKeyDer.AsSpan().SequenceEqual(publicKey) : credential.TpmAkPublic.AsSpan().SequenceEqual(offer.AkPublic)),
                stream.Cancellation);
            record.Describe(enrolled);
            deviceStates.Invalidate(enrolled.Id);
            await record.SucceededAsync($"device {enrolled.AssetTag}/{enrolled.OsType.ToText()} enrolled by {caller.Name}");
            await responses.WriteAsync(new EnrollDeviceResponse { Success = new EnrollDeviceSuccess { Device = DeviceMapping.ToProto(enrolled) } },
                stream.Cancellation);
        });
    }

    /// <summary>The token's device, once the token is spent; a bad token is refused as just "invalid".</summary>
    private async Task<Guid> SpendTokenAsync(AuditRecord record, Caller caller, string secret)
    {
        if (!SecretToken.LooksValid(secret))
        {
            await record.FailedAsync($"{InvalidToken}: malformed token", StatusCode.PermissionDenied);
            throw DeviceTrustException.PermissionDenied(InvalidToken);
        }
        SpentToken token;
        try
        {
            var mayEnroll = await identities.AllowsAsync(caller.User, Resources.Device, "enroll");
            token = await grains.GetGrain<IEnrollTokenGrain>(SecretToken.HashHex(secret)).SpendAsync(mayEnroll);
        }
        catch (DeviceTrustException e) when (e.Kind == ErrorKind.PermissionDenied)
        {
            await record.FailedAsync(e.Message, StatusCode.PermissionDenied);
            throw DeviceTrustException.PermissionDenied(InvalidToken);
        }
        record.Spent = $"the enrollment token (made by {token.CreatedBy}) was spent";
        record.DeviceId = token.DeviceId.ToString();
        record.Detail("token_created_by", token.CreatedBy);
        return token.DeviceId;
    }

    /// <summary>
    /// Auto-enrollment: no token, so the cluster option, the caller's <c>device: enroll</c> verb and an exact match
    /// of the reported data with the device's MDM profile authorize it. The person at the device hears only that it
    /// cannot enroll itself; the audit log says which check failed, with what was expected and what came.
    /// </summary>
    private async Task<Guid> AutoEnrollAsync(AuditRecord record, Caller caller, EnrollDeviceInit init, CollectedData data)
    {
        record.Detail("auto_enrollment", "true");
        if (init.Token.Length > 0)
        {
            throw DeviceTrustException.InvalidArgument("auto_enroll takes no token: send one or the other");
        }
        if (!(await identities.ConfigAsync()).DeviceTrust.AutoEnroll)
        {
            await record.FailedAsync("auto-enrollment refused: auto-enrollment is off in this cluster", StatusCode.PermissionDenied);
            throw DeviceTrustException.PermissionDenied("auto-enrollment is off in this cluster: ask an administrator for an enrollment token");
        }
        if (!await identities.AllowsAsync(caller.User, Resources.Device, "enroll"))
        {
            var denied = $"auto-enrollment needs the device: enroll verb (role {PresetRoles.DeviceEnroll}); user {caller.Name} has roles {string.Join(", ", caller.User.Roles)}";
            await record.FailedAsync($"auto-enrollment refused: {denied}", StatusCode.PermissionDenied);
            throw DeviceTrustException.PermissionDenied(denied);
        }
        var found = data.SerialNumber.Length == 0 ? null : await grains.GetGrain<IAssetTagGrain>(AssetTags.Key(data.OsType, data.SerialNumber)).GetAsync();
        var device = found is { } id ? await grains.GetGrain<IDeviceGrain>(id).GetAsync() : null;
        var refusal = device is null
            ? $"no device {data.SerialNumber}/{data.OsType.ToText()} in the inventory"
            : AutoEnrollment.Refusal(device, data);
        if (refusal is not null)
        {
            if (device is not null)
            {
                record.Describe(device);
            }
            await record.FailedAsync($"auto-enrollment refused: {refusal}", StatusCode.PermissionDenied);
            throw DeviceTrustException.PermissionDenied(AutoEnrollment.Refused);
        }
        record.DeviceId = device!.Id.ToString();
        return device.Id;
    }

    /// <summary>
    /// The enrollment's answer, or, when the cluster lost it (Unavailable: the silo relaying the answer died after
    /// the device grain stored the enrollment), what the device grain recorded if it is this very enrollment: the
    /// same credential and key, for this owner. Otherwise the client would hear a failure, find its token spent,
    /// and the audit log would say the enrollment failed while the device is enrolled.
    /// </summary>
    private static async Task<DeviceRecord> AnswerOrRecordedAsync(IDeviceGrain device, Func<Task<DeviceRecord>> enroll, Func<DeviceRecord, bool> isThisEnrollment,
        CancellationToken cancellation)
    {
        try
        {
            return await enroll();
        }
        catch (Exception lost) when (ErrorStatus.Expected(lost, cancellation) is { Status: StatusCode.Unavailable })
        {
            for (var attempt = 1; attempt <= 3; attempt++)
            {
                try
                {
                    if (await device.GetAsync() is { EnrollStatus: EnrollStatus.Enrolled } recorded && isThisEnrollment(recorded))
                    {
                        return recorded;
                    }
                    break;
                }
                catch (Exception again) when (ErrorStatus.Expected(again, cancellation) is { Status: StatusCode.Unavailable } && attempt < 3)
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(500), cancellation);
                }
                catch (Exception again) when (ErrorStatus.Expected(again, cancellation) is { Status: StatusCode.Unavailable })
                {
                    break;
                }
            }
            throw;
        }
    }

    private static async Task<DeviceRecord> EnrollKeyAsync(IDeviceGrain device, CeremonyStream<EnrollDeviceRequest> stream,
        IServerStreamWriter<EnrollDeviceResponse> responses, string credentialId, byte[] publicKey, CollectedData data, DeviceUser owner,
        Grains.Attestation.DevicePolicy policy)
    {
        var challenge = await device.BeginEnrollmentAsync(credentialId, publicKey, data, owner, policy);
        await responses.WriteAsync(new EnrollDeviceResponse { KeyChallenge = new Proto.V1.KeyChallenge { Challenge = ByteString.CopyFrom(challenge.Bytes) } },
            stream.Cancellation);
        var answer = await stream.NextAsync("key_challenge_response");
        if (answer.PayloadCase != EnrollDeviceRequest.PayloadOneofCase.KeyChallengeResponse)
        {
            throw DeviceTrustException.InvalidArgument($"expected key_challenge_response, not {Describe(answer.PayloadCase)}");
        }
        return await device.CompleteEnrollmentAsync(challenge.Ceremony, answer.KeyChallengeResponse.Signature.ToByteArray());
    }

    private static async Task<DeviceRecord> EnrollTpmAsync(IDeviceGrain device, CeremonyStream<EnrollDeviceRequest> stream,
        IServerStreamWriter<EnrollDeviceResponse> responses, Grains.Attestation.TpmEnrollmentOffer offer, CollectedData data, DeviceUser owner,
        Grains.Attestation.DevicePolicy policy)
    {
        var challenge = await device.BeginTpmEnrollmentAsync(offer, policy, data, owner);
        var message = new TPMEnrollChallenge
        {
            EncryptedCredential = new TPMEncryptedCredential
            {
                CredentialBlob = ByteString.CopyFrom(challenge.IdObject),
                Secret = ByteString.CopyFrom(challenge.EncryptedSecret),
            },
            AttestationNonce = ByteString.CopyFrom(challenge.Nonce),
        };
        message.QuotePcrs.AddRange(TpmEvidence.Selection(policy));
        await responses.WriteAsync(new EnrollDeviceResponse { TpmChallenge = message }, stream.Cancellation);
        var answer = await stream.NextAsync("tpm_challenge_response");
        if (answer.PayloadCase != EnrollDeviceRequest.PayloadOneofCase.TpmChallengeResponse)
        {
            throw DeviceTrustException.InvalidArgument($"expected tpm_challenge_response, not {Describe(answer.PayloadCase)}");
        }
        var response = answer.TpmChallengeResponse;
        if (response.Solution.Length > 64)
        {
            throw DeviceTrustException.InvalidArgument("solution is longer than 64 bytes");
        }
        return await device.CompleteTpmEnrollmentAsync(challenge.Ceremony, response.Solution.ToByteArray(),
            TpmEvidence.Quote(response.Quotes, response.Pcrs, response.EventLog));
    }

    internal static string Describe(Enum payload) => payload.ToString() == "None" ? "an empty or unknown message" : payload.ToString();
}

/// <summary>The rate limits every ceremony start takes from: its source address, then the calling user.</summary>
internal static class CeremonyLimits
{
    public static void Admit(RateLimits limits, ServerCallContext context, Caller caller)
    {
        limits.Admit(nameof(RateLimitsOptions.CeremoniesPerAddress), ClientAddress.LimitKey(context.GetHttpContext().Connection.RemoteIpAddress),
            "ceremonies from your address");
        limits.Admit(nameof(RateLimitsOptions.CeremoniesPerUser), caller.User.Id.ToString(), "ceremonies for your user");
    }
}
