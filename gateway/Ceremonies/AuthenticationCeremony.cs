using DeviceTrust.Core.Audit;
using DeviceTrust.Core.Certificates;
using DeviceTrust.Core.Config;
using DeviceTrust.Core.Devices;
using DeviceTrust.Core.Errors;
using DeviceTrust.Core.Secrets;
using DeviceTrust.Gateway.Audit;
using DeviceTrust.Gateway.Authentication;
using DeviceTrust.Gateway.Hosting;
using DeviceTrust.Gateway.Policy;
using DeviceTrust.Gateway.Services;
using DeviceTrust.Grains.Inventory;
using DeviceTrust.Grains.Web;
using DeviceTrust.Proto.V1;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
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
    TimeProvider time,
    DeviceTrust.Web.WebConsoleOptions console)
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
            var web = init.DeviceWebToken.Length > 0 ? await SpendWebTokenAsync(init.DeviceWebToken, caller, record) : null;
            // A certificate is augmented once; a web ceremony issues none, so the certificate there only names the user.
            if (web is null && DeviceExtensions.AnyPresent(caller.Certificate))
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
            if (web is not null)
            {
                await ConfirmForWebAsync(web, authenticated, credentialId, caller, record, responses, stream.Cancellation);
                return;
            }
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

    /// <summary>
    /// Device web authentication: spends the console's single-use token for the caller (its own user only) and checks
    /// that the device speaks from the browser's address, before any challenge. Each refusal is audited with its reason.
    /// </summary>
    private async Task<DeviceWebToken> SpendWebTokenAsync(string token, Caller caller, AuditRecord record)
    {
        record.Type = AuditCodes.DeviceWebAuthenticate;
        if (!SecretToken.LooksValid(token))
        {
            throw DeviceTrustException.InvalidArgument("the device web token is malformed: copy the whole devicetrust:// address the web console shows");
        }
        var web = await grains.GetGrain<IDeviceWebTokenGrain>(SecretToken.HashHex(token)).SpendAsync(DeviceWebTokenKind.WebToken, caller.User.Id.ToString());
        if (web.BrowserIp != record.ClientIp)
        {
            throw DeviceTrustException.PermissionDenied($"device web authentication IP mismatch (want {web.BrowserIp}, got {record.ClientIp})");
        }
        return web;
    }

    /// <summary>Instead of certificates: a single-use confirmation, bound to the token's web session, for the browser to present.</summary>
    private async Task ConfirmForWebAsync(DeviceWebToken web, DeviceRecord device, string credentialId, Caller caller, AuditRecord record,
        IServerStreamWriter<AuthenticateDeviceResponse> responses, CancellationToken cancellation)
    {
        var confirmation = SecretToken.New();
        var now = time.GetUtcNow();
        var expires = now + console.DeviceTokenLifetime;
        await grains.GetGrain<IDeviceWebTokenGrain>(SecretToken.HashHex(confirmation)).CreateAsync(
            new DeviceWebToken(DeviceWebTokenKind.Confirmation, web.SessionKey, web.UserId, web.UserName, web.BrowserIp, expires)
            {
                Device = new WebSessionDevice(device.Id.ToString(), device.AssetTag, credentialId, now),
            });
        await record.SucceededAsync($"device {device.AssetTag}/{device.OsType.ToText()} authenticated for a web console session of {caller.Name}");
        await responses.WriteAsync(new AuthenticateDeviceResponse
        {
            WebConfirmation = new DeviceWebConfirmation
            {
                ConfirmationToken = confirmation,
                AssetTag = device.AssetTag,
                DeviceId = device.Id.ToString(),
                ExpireTime = Timestamp.FromDateTimeOffset(expires),
            },
        }, cancellation);
    }
}
