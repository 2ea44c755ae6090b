using System.Text;
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
    RateLimits limits,
    SampledAudit refusals,
    GatewayOptions options,
    IdentityCache identities,
    CertificateIssuer issuer,
    AuditRecorder audit,
    TimeProvider time,
    ILogger<AuthGrpcService> log) : AuthService.AuthServiceBase
{
    private const string BadCredentials = "invalid user name or password";

    [AllowAnonymous]
    [Audited(AuditCodes.ClusterInfo, Reads = true)]
    public override Task<ClusterInfo> GetClusterInfo(GetClusterInfoRequest request, ServerCallContext context) =>
        Task.FromResult(new ClusterInfo
        {
            ClusterName = authority.ClusterName,
            CaCertificateDer = ByteString.CopyFrom(authority.Ca.Certificate.RawData),
            CaPin = authority.Ca.Pin,
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
                await EnsureNotLockedAsync(invited);
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
        var printable = UserName.Printable(request.User);
        var record = audit.Begin(AuditCodes.UserLogin, context, printable);
        return await AuditedCall.RunAsync(record, refusals, async () =>
        {
            using var slot = AdmitLogin(context, request.User);
            var publicKey = CertificateAuthority.ParseUserPublicKey(request.PublicKey.Span);
            var ttl = ProtoMapping.Ttl(request.Ttl, options.CertificateTtl, options.CertificateTtl, "ttl");
            if (Encoding.UTF8.GetByteCount(request.Password) > PasswordPolicy.MaxBytes)
            {
                throw DeviceTrustException.Unauthenticated(BadCredentials);
            }
            var source = SourceKey(context);
            // Names that can never be users are checked like the others (same KDF work), but have no delay to track.
            var guard = UserName.IsValid(request.User) ? grains.GetGrain<ILoginGuardGrain>(request.User) : null;
            if (guard is not null)
            {
                await guard.EnsureAllowedAsync(source);
            }
            var login = guard is null ? null : await grains.GetGrain<IUserGrain>(request.User).GetLoginRecordAsync();
            // The same KDF work whether or not the user exists, so timing does not reveal user names.
            var verified = await slot.VerifyAsync(request.Password, login?.PasswordHash);
            if (!verified || login is null)
            {
                log.LogWarning("Failed login for user {User} from {Peer}", printable, record.ClientIp);
                var delay = guard is null ? null : await guard.RecordFailureAsync(source);
                await record.FailedAsync(login is null ? "no such user" : login.PasswordHash is null ? "the user has no password yet" : "wrong password",
                    StatusCode.Unauthenticated);
                if (delay is not null)
                {
                    await audit.Begin(AuditCodes.UserLoginDelay, context, printable).Detail("failures", delay.Failures)
                        .Detail("delay_seconds", delay.Delay.TotalSeconds)
                        .FailedAsync($"{delay.Failures} failed logins in a row for {printable} from {record.ClientIp}: " +
                                     $"the next attempt from there must wait {delay.Delay.TotalSeconds:F0} s", StatusCode.ResourceExhausted);
                }
                throw DeviceTrustException.Unauthenticated(BadCredentials);
            }
            await EnsureNotLockedAsync(login.User);
            if (await guard!.RecordSuccessAsync(source) is { } cleared)
            {
                await audit.Begin(AuditCodes.UserLoginDelayReset, context, login.User.Name, login.User.Id.ToString())
                    .Detail("failures", cleared.Failures)
                    .SucceededAsync($"the login delay for {login.User.Name} from {record.ClientIp} ended with a correct password after {cleared.Failures} failures");
            }
            var response = await IssueAsync(login.User, publicKey, ttl);
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

    /// <summary>
    /// What every password attempt passes before it may cost a hash: the bucket of its source address,
    /// a place in the password pool, then the bucket of the name it names. The pool comes before the name's bucket, so
    /// an attempt refused only because the pool is busy does not use up that user's attempts (dtsh retries it).
    /// </summary>
    private PasswordSlot AdmitLogin(ServerCallContext context, string user)
    {
        limits.Admit(nameof(RateLimitsOptions.LoginPerAddress), SourceKey(context), "login attempts from your address");
        var slot = passwords.Reserve();
        try
        {
            limits.Admit(nameof(RateLimitsOptions.LoginPerUser), UserName.Printable(user), "login attempts for this user");
            return slot;
        }
        catch
        {
            slot.Dispose();
            throw;
        }
    }

    /// <summary>A locked user (or one holding a locked role) gets no certificate; told only after the password checked out.</summary>
    private async Task EnsureNotLockedAsync(UserView user)
    {
        if ((await identities.LocksAsync()).Against(user.Id.ToString(), user.Roles, null, time.GetUtcNow()) is [var first, ..])
        {
            throw DeviceTrustException.PermissionDenied(first.Reason);
        }
    }

    private static string SourceKey(ServerCallContext context) => ClientAddress.LimitKey(context.GetHttpContext().Connection.RemoteIpAddress);

    private async Task<LoginResponse> IssueAsync(UserView user, System.Security.Cryptography.X509Certificates.PublicKey publicKey, TimeSpan ttl)
    {
        var mode = (await identities.ConfigAsync()).DeviceTrust.Mode;
        var issued = await issuer.IssueAsync(user, publicKey, time.GetUtcNow() + ttl, device: null);
        var response = new LoginResponse
        {
            CertificateDer = ByteString.CopyFrom(issued.X509Der),
            CaCertificateDer = ByteString.CopyFrom(authority.Ca.Certificate.RawData),
            User = user.Name,
            ClusterName = authority.ClusterName,
            DeviceTrustMode = mode,
            SshCertificate = issued.Ssh is null ? ByteString.Empty : ByteString.CopyFrom(issued.Ssh),
            SshHostCa = authority.SshHosts.PublicKey.ToLine($"{authority.ClusterName} host CA"),
        };
        response.Roles.AddRange(user.Roles);
        return response;
    }
}
