using DeviceTrust.Core.Devices;
using DeviceTrust.Core.Errors;
using DeviceTrust.Core.Secrets;
using DeviceTrust.Gateway.Audit;
using DeviceTrust.Gateway.Authentication;
using DeviceTrust.Gateway.Policy;
using DeviceTrust.Gateway.Services;
using DeviceTrust.Grains.Inventory;
using DeviceTrust.Grains.Tokens;
using DeviceTrust.Proto.V1;
using Google.Protobuf;
using Grpc.Core;

namespace DeviceTrust.Gateway.Ceremonies;

/// <summary>
/// EnrollDevice: init{token, credential, device data, key} → spend the token, check the data against the
/// inventory → challenge → signature verified with the offered key → success{device}. Every outcome is audited
/// with its real reason; the caller of a bad token only learns "invalid device enrollment token".
/// </summary>
public sealed class EnrollmentCeremony(IGrainFactory grains, IdentityCache identities, AuditRecorder audit, TimeProvider time)
{
    public const string InvalidToken = "invalid device enrollment token";

    public async Task RunAsync(IAsyncStreamReader<EnrollDeviceRequest> requests, IServerStreamWriter<EnrollDeviceResponse> responses,
        ServerCallContext context)
    {
        var caller = Caller.Of(context);
        var record = audit.Begin("device.enroll", context, caller.Name);
        using var stream = new CeremonyStream<EnrollDeviceRequest>(requests, context.CancellationToken);
        try
        {
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
            if (!SecretToken.LooksValid(init.Token))
            {
                await record.FailedAsync($"{InvalidToken}: malformed token");
                throw DeviceTrustException.PermissionDenied(InvalidToken);
            }
            Guid deviceId;
            try
            {
                deviceId = await grains.GetGrain<IEnrollTokenGrain>(SecretToken.HashHex(init.Token)).SpendAsync();
            }
            catch (DeviceTrustException e)
            {
                await record.FailedAsync(e.Message);
                throw DeviceTrustException.PermissionDenied(InvalidToken);
            }
            record.DeviceId = deviceId.ToString();
            var device = grains.GetGrain<IDeviceGrain>(deviceId);
            var enrolled = offer is null
                ? await EnrollKeyAsync(device, stream, responses, credentialId, publicKey!, data, caller.Name, policy)
                : await EnrollTpmAsync(device, stream, responses, offer, data, caller.Name, policy);
            await record.SucceededAsync($"device {enrolled.AssetTag}/{enrolled.OsType.ToText()} enrolled by {caller.Name}");
            await responses.WriteAsync(new EnrollDeviceResponse { Success = new EnrollDeviceSuccess { Device = DeviceMapping.ToProto(enrolled) } },
                stream.Cancellation);
        }
        catch (Exception e) when (e is DeviceTrustException or CeremonyTimeoutException or RpcException)
        {
            if (e is not DeviceTrustException { Message: InvalidToken })
            {
                await record.FailedAsync(e is RpcException rpc ? rpc.Status.Detail : e.Message);
            }
            throw;
        }
    }

    private static async Task<Core.Devices.DeviceRecord> EnrollKeyAsync(IDeviceGrain device, CeremonyStream<EnrollDeviceRequest> stream,
        IServerStreamWriter<EnrollDeviceResponse> responses, string credentialId, byte[] publicKey, Core.Devices.CollectedData data, string owner,
        Grains.Attestation.TpmPolicy policy)
    {
        var challenge = await device.BeginEnrollmentAsync(credentialId, publicKey, data, owner, policy.MinimumAttestation);
        await responses.WriteAsync(new EnrollDeviceResponse { KeyChallenge = new Proto.V1.KeyChallenge { Challenge = ByteString.CopyFrom(challenge) } },
            stream.Cancellation);
        var answer = await stream.NextAsync("key_challenge_response");
        if (answer.PayloadCase != EnrollDeviceRequest.PayloadOneofCase.KeyChallengeResponse)
        {
            throw DeviceTrustException.InvalidArgument($"expected key_challenge_response, not {Describe(answer.PayloadCase)}");
        }
        return await device.CompleteEnrollmentAsync(answer.KeyChallengeResponse.Signature.ToByteArray());
    }

    private static async Task<Core.Devices.DeviceRecord> EnrollTpmAsync(IDeviceGrain device, CeremonyStream<EnrollDeviceRequest> stream,
        IServerStreamWriter<EnrollDeviceResponse> responses, Grains.Attestation.TpmEnrollmentOffer offer, Core.Devices.CollectedData data, string owner,
        Grains.Attestation.TpmPolicy policy)
    {
        var challenge = await device.BeginTpmEnrollmentAsync(offer, policy, data, owner);
        await responses.WriteAsync(new EnrollDeviceResponse
        {
            TpmChallenge = new TPMEnrollChallenge
            {
                EncryptedCredential = new TPMEncryptedCredential
                {
                    CredentialBlob = ByteString.CopyFrom(challenge.IdObject),
                    Secret = ByteString.CopyFrom(challenge.EncryptedSecret),
                },
                AttestationNonce = ByteString.CopyFrom(challenge.Nonce),
            },
        }, stream.Cancellation);
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
        return await device.CompleteTpmEnrollmentAsync(response.Solution.ToByteArray(), TpmEvidence.Quote(response.Quotes, response.Pcrs, response.EventLog));
    }

    internal static string Describe(Enum payload) => payload.ToString() == "None" ? "an empty or unknown message" : payload.ToString();
}
