using System.Text;
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

/// <summary>Passwords and invitations in, short-lived user certificates out.</summary>
public sealed class AuthGrpcService(
    IGrainFactory grains,
    ClusterAuthority authority,
    PasswordHasher hasher,
    GatewayOptions options,
    IdentityCache identities,
    AuditRecorder audit,
    TimeProvider time,
    ILogger<AuthGrpcService> log) : AuthService.AuthServiceBase
{
    private const string BadCredentials = "invalid user name or password";

    [AllowAnonymous]
    public override Task<ClusterInfo> GetClusterInfo(GetClusterInfoRequest request, ServerCallContext context) =>
        Task.FromResult(new ClusterInfo
        {
            ClusterName = authority.ClusterName,
            CaCertificateDer = ByteString.CopyFrom(authority.Ca.Certificate.RawData),
            CaPin = authority.Ca.Pin,
        });

    [AllowAnonymous]
    public override async Task<LoginResponse> AcceptInvitation(AcceptInvitationRequest request, ServerCallContext context)
    {
        // Everything is checked before anything is spent: bad input leaves the invitation usable.
        var user = UserName.Validate(request.User);
        if (!SecretToken.LooksValid(request.InviteSecret))
        {
            throw DeviceTrustException.InvalidArgument("the invitation secret is malformed: copy the whole token printed by dtctl users add");
        }
        PasswordPolicy.Validate(request.NewPassword);
        var publicKey = CertificateAuthority.ParseUserPublicKey(request.PublicKey.Span);
        var ttl = ProtoMapping.Ttl(request.Ttl, options.CertificateTtl, options.CertificateTtl, "ttl");
        var passwordHash = hasher.Hash(request.NewPassword);
        var view = await grains.GetGrain<IUserGrain>(user).AcceptInvitationAsync(SecretToken.Hash(request.InviteSecret), passwordHash);
        identities.InvalidateUser(user);
        log.LogInformation("User {User} accepted an invitation", user);
        var response = await IssueAsync(view, publicKey, ttl);
        await audit.Begin("user.login", context, user).SucceededAsync("invitation accepted");
        return response;
    }

    [AllowAnonymous]
    public override async Task<LoginResponse> Login(LoginRequest request, ServerCallContext context)
    {
        var publicKey = CertificateAuthority.ParseUserPublicKey(request.PublicKey.Span);
        var ttl = ProtoMapping.Ttl(request.Ttl, options.CertificateTtl, options.CertificateTtl, "ttl");
        if (Encoding.UTF8.GetByteCount(request.Password) > PasswordPolicy.MaxBytes)
        {
            throw DeviceTrustException.Unauthenticated(BadCredentials);
        }
        // The same KDF work whether or not the user exists, so timing does not reveal user names.
        var record = UserName.IsValid(request.User) ? await grains.GetGrain<IUserGrain>(request.User).GetLoginRecordAsync() : null;
        var login = audit.Begin("user.login", context, UserName.Printable(request.User));
        if (!hasher.Verify(request.Password, record?.PasswordHash) || record is null)
        {
            log.LogWarning("Failed login for user {User} from {Peer}", UserName.Printable(request.User), context.Peer);
            await login.FailedAsync(record is null ? "no such user" : record.PasswordHash is null ? "the user has no password yet" : "wrong password");
            throw DeviceTrustException.Unauthenticated(BadCredentials);
        }
        var response = await IssueAsync(record.User, publicKey, ttl);
        await login.SucceededAsync("password login");
        return response;
    }

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

    private async Task<LoginResponse> IssueAsync(UserView user, System.Security.Cryptography.X509Certificates.PublicKey publicKey, TimeSpan ttl)
    {
        var mode = (await identities.ConfigAsync()).DeviceTrust.Mode;
        var now = time.GetUtcNow();
        using var certificate = authority.Ca.IssueUserCertificate(publicKey, user.Name, now, now + ttl);
        var response = new LoginResponse
        {
            CertificateDer = ByteString.CopyFrom(certificate.RawData),
            CaCertificateDer = ByteString.CopyFrom(authority.Ca.Certificate.RawData),
            User = user.Name,
            ClusterName = authority.ClusterName,
            DeviceTrustMode = mode,
        };
        response.Roles.AddRange(user.Roles);
        return response;
    }
}
