using DeviceTrust.Core.Audit;
using DeviceTrust.Core.Certificates;
using DeviceTrust.Core.Config;
using DeviceTrust.Core.Devices;
using DeviceTrust.Core.Errors;
using DeviceTrust.Gateway.Audit;
using DeviceTrust.Gateway.Authentication;
using DeviceTrust.Gateway.Hosting;
using DeviceTrust.Gateway.Policy;
using DeviceTrust.Gateway.Services;
using DeviceTrust.Grains.Inventory;
using DeviceTrust.Proto.V1;
using Google.Protobuf;
using Grpc.Core;
using DeviceUser = DeviceTrust.Core.Devices.DeviceUser;

namespace DeviceTrust.Gateway.Ceremonies;

/// <summary>
/// AuthenticateDevice: the user is the caller's certificate; init{credential, device data} → the device must be
/// enrolled, the caller must be its owner or one of its users, the credential must match, the data must not drift
/// → challenge (this ceremony's own) → signature or quote → a certificate for the same key and the same user
/// identity, expiring no later than the presented one, carrying the device extensions.
/// </summary>
public sealed class AuthenticationCeremony(
    IGrainFactory grains,
    CertificateIssuer issuer,
    IdentityCache identities,
    AuditRecorder audit,
    SampledAudit refusals,
    RateLimits limits,
    GatewayOptions options,
    TimeProvider time)
{
    public Task RunAsync(IAsyncStreamReader<AuthenticateDeviceRequest> requests, IServerStreamWriter<AuthenticateDeviceResponse> responses,
        ServerCallContext context)
    {
        var caller = Caller.Of(context);
        var record = audit.Begin(AuditCodes.DeviceAuthenticate, context, caller);
        return AuditedCall.RunAsync(record, refusals, async () =>
        {
            CeremonyLimits.Admit(limits, context, caller);
            using var stream = new CeremonyStream<AuthenticateDeviceRequest>(requests, options.CeremonyFirstMessageTimeout, options.CeremonyTimeout,
                context.CancellationToken);
            var first = await stream.NextAsync("init");
            if (first.PayloadCase != AuthenticateDeviceRequest.PayloadOneofCase.Init)
            {
                throw DeviceTrustException.InvalidArgument($"the first message must be init, not {EnrollmentCeremony.Describe(first.PayloadCase)}");
            }
            var init = first.Init;
            var credentialId = DeviceFields.CredentialId(init.CredentialId);
            var data = DeviceMapping.FromProto(init.DeviceData, time.GetUtcNow());
            record.Describe(credentialId, data);
            var config = (await identities.ConfigAsync()).DeviceTrust;
            if (DeviceTrustModes.FailClosed(config.Mode) == DeviceTrustMode.Off)
            {
                throw DeviceTrustException.FailedPrecondition("device trust is off in this cluster");
            }
            var policy = TpmEvidence.Policy(config);
            if (DeviceExtensions.AnyPresent(caller.Certificate))
            {
                throw DeviceTrustException.PermissionDenied("the certificate already carries device extensions: authenticate with the certificate from login");
            }
            var deviceId = init.DeviceId.Length > 0
                ? DeviceFields.DeviceId(init.DeviceId)
                : await grains.GetGrain<IAssetTagGrain>(AssetTags.Key(data.OsType, DeviceFields.AssetTag(data.SerialNumber))).GetAsync()
                  ?? throw DeviceTrustException.NotFound("device not found: it is not in the inventory");
            record.DeviceId = deviceId.ToString();
            // The user's and roles' locks were checked with the call; this device's are checked here.
            if ((await identities.LocksAsync()).Against(caller.User.Id.ToString(), caller.User.Roles, deviceId.ToString(), time.GetUtcNow()) is [var locked, ..])
            {
                throw DeviceTrustException.PermissionDenied(locked.Reason);
            }
            var device = grains.GetGrain<IDeviceGrain>(deviceId);
            var challenge = await device.BeginAuthenticationAsync(credentialId, data, new DeviceUser(caller.User.Id.ToString(), caller.Name), policy);
            DeviceRecord authenticated;
            if (!challenge.Tpm)
            {
                await responses.WriteAsync(new AuthenticateDeviceResponse { KeyChallenge = new Proto.V1.KeyChallenge { Challenge = ByteString.CopyFrom(challenge.Bytes) } },
                    stream.Cancellation);
                var second = await stream.NextAsync("key_challenge_response");
                if (second.PayloadCase != AuthenticateDeviceRequest.PayloadOneofCase.KeyChallengeResponse)
                {
                    throw DeviceTrustException.InvalidArgument($"expected key_challenge_response, not {EnrollmentCeremony.Describe(second.PayloadCase)}");
                }
                authenticated = await device.CompleteAuthenticationAsync(challenge.Ceremony, second.KeyChallengeResponse.Signature.ToByteArray());
            }
            else
            {
                var tpmChallenge = new TPMAuthenticateDeviceChallenge { AttestationNonce = ByteString.CopyFrom(challenge.Bytes) };
                tpmChallenge.QuotePcrs.AddRange(TpmEvidence.Selection(policy));
                await responses.WriteAsync(new AuthenticateDeviceResponse { TpmChallenge = tpmChallenge }, stream.Cancellation);
                var second = await stream.NextAsync("tpm_challenge_response");
                if (second.PayloadCase != AuthenticateDeviceRequest.PayloadOneofCase.TpmChallengeResponse)
                {
                    throw DeviceTrustException.InvalidArgument($"expected tpm_challenge_response, not {EnrollmentCeremony.Describe(second.PayloadCase)}");
                }
                var answer = second.TpmChallengeResponse;
                authenticated = await device.CompleteTpmAuthenticationAsync(challenge.Ceremony, TpmEvidence.Quote(answer.Quotes, answer.Pcrs, answer.EventLog),
                    policy);
            }
            record.Describe(authenticated);
            var extensions = new DeviceExtensions(authenticated.Id.ToString(), authenticated.AssetTag, credentialId);
            var notAfter = new DateTimeOffset(caller.Certificate.NotAfter.ToUniversalTime(), TimeSpan.Zero);
            var issued = await issuer.IssueAsync(caller.User, caller.Certificate.PublicKey, notAfter, extensions);
            await record.SucceededAsync($"device {authenticated.AssetTag}/{authenticated.OsType.ToText()} authenticated for {caller.Name}");
            var certificates = new UserCertificates
            {
                X509Der = ByteString.CopyFrom(issued.X509Der),
                SshCertificate = issued.Ssh is null ? ByteString.Empty : ByteString.CopyFrom(issued.Ssh),
            };
            await responses.WriteAsync(new AuthenticateDeviceResponse { UserCertificates = certificates }, stream.Cancellation);
        });
    }
}
