using DeviceTrust.Core.Audit;
using DeviceTrust.Core.Certificates;
using DeviceTrust.Core.Errors;
using DeviceTrust.Core.Passwords;
using DeviceTrust.Core.Secrets;
using DeviceTrust.Core.Users;
using DeviceTrust.Gateway.Audit;
using DeviceTrust.Gateway.Authentication;
using DeviceTrust.Gateway.Hosting;
using DeviceTrust.Gateway.Policy;
using DeviceTrust.Grains.Users;
using DeviceTrust.Proto.V1;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.AspNetCore.Authorization;

namespace DeviceTrust.Gateway.Services;

/// <summary>
/// Passwords and invitations in, short-lived user certificates out. Both anonymous paths are rate limited per source
/// address and per user name before they cost anything, hash on the bounded <see cref="PasswordWork"/> pool, and
/// honour the growing delay after wrong passwords (<see cref="ILoginGuardGrain"/>).
/// </summary>
public sealed class AuthGrpcService(
    IGrainFactory grains,
    ClusterAuthority authority,
    ClusterBootstrap bootstrap,
    PasswordWork passwords,
    PasswordLogin passwordLogin,
    RateLimits limits,
    SampledAudit refusals,
    GatewayOptions options,
    IdentityCache identities,
    CertificateIssuer issuer,
    AuditRecorder audit,
    TimeProvider time,
    ILogger<AuthGrpcService> log) : AuthService.AuthServiceBase
{
    [AllowAnonymous]
    [Audited(AuditCodes.ClusterInfo, Reads = true)]
    public override Task<ClusterInfo> GetClusterInfo(GetClusterInfoRequest request, ServerCallContext context) =>
        Task.FromResult(new ClusterInfo
        {
            ClusterName = authority.ClusterName,
            CaCertificateDer = ByteString.CopyFrom(authority.Ca.Certificate.RawData),
            CaPin = authority.Ca.Pin,
            OtherCaPin = authority.TrustedCas.Count > 1 ? Core.Certificates.CaPin.Of(authority.TrustedCas[1]) : "",
        });

    [AllowAnonymous]
    [Audited(AuditCodes.UserInvitationAccept, BySelf = true)]
    public override async Task<LoginResponse> AcceptInvitation(AcceptInvitationRequest request, ServerCallContext context)
    {
        var printable = UserName.Printable(request.User);
        var record = audit.Begin(AuditCodes.UserInvitationAccept, context, printable);
        record.Target = printable;
        return await AuditedCall.RunAsync(record, refusals, async () =>
        {
            limits.Admit(nameof(RateLimitsOptions.LoginPerAddress), SourceKey(context), "login attempts from your address");
            // Everything is checked before anything is spent or hashed: bad input and a bad invitation leave the
            // invitation usable and cost no KDF, not even a place in the password pool.
            var user = UserName.Validate(request.User);
            if (!SecretToken.LooksValid(request.InviteSecret))
            {
                throw DeviceTrustException.InvalidArgument("the invitation secret is malformed: copy the whole token printed by dtctl users add");
            }
            PasswordPolicy.Validate(request.NewPassword);
            var publicKey = CertificateAuthority.ParseUserPublicKey(request.PublicKey.Span);
            var ttl = ProtoMapping.Ttl(request.Ttl, options.CertificateTtl, options.CertificateTtl, "ttl");
            limits.Admit(nameof(RateLimitsOptions.LoginPerUser), user, "login attempts for this user");
            var grain = grains.GetGrain<IUserGrain>(user);
            var secretHash = SecretToken.Hash(request.InviteSecret);
            await grain.CheckInvitationAsync(secretHash);
            if (await grain.GetAsync() is { } invited)
            {
                await passwordLogin.EnsureNotLockedAsync(invited);
            }
            using var slot = passwords.Reserve();
            var passwordHash = await slot.HashAsync(request.NewPassword);
            var view = await grain.AcceptInvitationAsync(secretHash, passwordHash);
            identities.InvalidateUser(user);
            bootstrap.InvitationAccepted(user);
            log.LogInformation("User {User} accepted an invitation", user);
            var response = await IssueAsync(view, publicKey, ttl);
            record.Detail("user_id", view.Id);
            await record.SucceededAsync("invitation accepted, password set");
            return response;
        });
    }

    [AllowAnonymous]
    [Audited(AuditCodes.UserLogin, BySelf = true)]
    public override async Task<LoginResponse> Login(LoginRequest request, ServerCallContext context)
    {
        var record = audit.Begin(AuditCodes.UserLogin, context, UserName.Printable(request.User));
        return await AuditedCall.RunAsync(record, refusals, async () =>
        {
            var publicKey = CertificateAuthority.ParseUserPublicKey(request.PublicKey.Span);
            var ttl = ProtoMapping.Ttl(request.Ttl, options.CertificateTtl, options.CertificateTtl, "ttl");
            var user = await passwordLogin.VerifyAsync(record, context.GetHttpContext().Connection.RemoteIpAddress, request.User, request.Password);
            var response = await IssueAsync(user, publicKey, ttl);
            await record.SucceededAsync("password login");
            return response;
        });
    }

    [AnyUser]
    [Audited(AuditCodes.UserWhoAmI, Reads = true)]
    public override Task<WhoAmIResponse> WhoAmI(WhoAmIRequest request, ServerCallContext context)
    {
        var caller = Caller.Of(context);
        var response = new WhoAmIResponse
        {
            User = caller.Name,
            Kind = caller.User.Kind.ToProto(),
            CertificateExpires = Timestamp.FromDateTime(caller.Certificate.NotAfter.ToUniversalTime()),
            ClusterName = authority.ClusterName,
        };
        response.Roles.AddRange(caller.User.Roles);
        return Task.FromResult(response);
    }

    private static string SourceKey(ServerCallContext context) => ClientAddress.LimitKey(context.GetHttpContext().Connection.RemoteIpAddress);

    private async Task<LoginResponse> IssueAsync(UserView user, System.Security.Cryptography.X509Certificates.PublicKey publicKey, TimeSpan ttl)
    {
        var settings = (await identities.ConfigAsync()).DeviceTrust;
        var issued = await issuer.IssueAsync(user, publicKey, time.GetUtcNow() + ttl, device: null);
        var response = new LoginResponse
        {
            CertificateDer = ByteString.CopyFrom(issued.X509Der),
            CaCertificateDer = ByteString.CopyFrom(authority.Ca.Certificate.RawData),
            User = user.Name,
            ClusterName = authority.ClusterName,
            DeviceTrustMode = settings.Mode,
            AutoEnroll = settings.AutoEnroll && await identities.AllowsAsync(user, Core.Roles.Resources.Device, "enroll"),
            SshCertificate = issued.Ssh is null ? ByteString.Empty : ByteString.CopyFrom(issued.Ssh),
            SshHostCa = authority.SshHostCaLines.First(),
        };
        response.Roles.AddRange(user.Roles);
        response.TrustedCaCertificatesDer.AddRange(authority.TrustedCas.Select(ca => ByteString.CopyFrom(ca.RawData)));
        response.SshHostCas.AddRange(authority.SshHostCaLines);
        return response;
    }
}
