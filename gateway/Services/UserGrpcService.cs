using DeviceTrust.Core.Audit;
using DeviceTrust.Core.Errors;
using DeviceTrust.Core.Roles;
using DeviceTrust.Core.Users;
using DeviceTrust.Gateway.Audit;
using DeviceTrust.Gateway.Authentication;
using DeviceTrust.Gateway.Hosting;
using DeviceTrust.Gateway.Policy;
using DeviceTrust.Grains;
using DeviceTrust.Grains.ReadModels;
using DeviceTrust.Grains.Users;
using DeviceTrust.Proto.V1;
using Grpc.Core;

namespace DeviceTrust.Gateway.Services;

public sealed class UserGrpcService(
    IGrainFactory grains,
    ClusterAuthority authority,
    IdentityCache identities,
    IUserDirectory directory,
    TimeProvider time) : UserService.UserServiceBase
{
    [Requires(Resources.User, "create")]
    [Audited(AuditCodes.UserCreate)]
    public override async Task<CreateUserResponse> CreateUser(CreateUserRequest request, ServerCallContext context)
    {
        var (audit, name) = Subject(context, request.Name);
        var kind = ProtoMapping.FromProto(request.Kind);
        var roles = ProtoMapping.RoleNames(request.Roles);
        var ttl = ProtoMapping.Ttl(request.InviteTtl, NewInvitation.DefaultTtl, NewInvitation.MaxTtl, "invite_ttl");
        var invitation = NewInvitation.For(name, authority.Ca.Pin, time.GetUtcNow(), ttl);
        var user = await grains.GetGrain<IUserGrain>(name).CreateAsync(kind, roles, invitation.SecretHash, invitation.Expires);
        identities.InvalidateUser(name);
        audit.Detail("user_id", user.Id).Detail("kind", user.Kind.ToString().ToLowerInvariant()).Detail("roles", user.Roles)
            .Detail("invite_expires", invitation.Expires);
        audit.Message = $"user {name} created with roles {string.Join(", ", user.Roles)}; invitation valid until {invitation.Expires:u}";
        return new CreateUserResponse { User = user.ToProto(), InviteToken = invitation.Token.Encode() };
    }

    /// <summary>The user a change is about: recorded in the audit event as given (printable), then validated.</summary>
    private static (AuditRecord Audit, string Name) Subject(ServerCallContext context, string requested)
    {
        var audit = context.Audit();
        audit.Target = UserName.Printable(requested);
        return (audit, UserName.Validate(requested));
    }

    [Requires(Resources.User, "read")]
    [Audited(AuditCodes.UserGet, Reads = true)]
    public override async Task<User> GetUser(GetUserRequest request, ServerCallContext context)
    {
        var name = UserName.Validate(request.Name);
        var user = await grains.GetGrain<IUserGrain>(name).GetAsync() ?? throw DeviceTrustException.NotFound($"user \"{name}\" not found");
        return user.ToProto();
    }

    [Requires(Resources.User, "list")]
    [Audited(AuditCodes.UserList, Reads = true)]
    public override async Task<ListUsersResponse> ListUsers(ListUsersRequest request, ServerCallContext context)
    {
        if (request.PageSize is < 0 or > IUserDirectory.MaxPageSize)
        {
            throw DeviceTrustException.InvalidArgument($"page_size must be between 0 and {IUserDirectory.MaxPageSize}");
        }
        if (request.PageToken.Length > 0 && !UserName.IsValid(request.PageToken))
        {
            throw DeviceTrustException.InvalidArgument("page_token is not one this server returned");
        }
        var page = await directory.ListAsync(request.PageSize == 0 ? 100 : request.PageSize, request.PageToken, context.CancellationToken);
        var response = new ListUsersResponse { NextPageToken = page.NextPageToken };
        response.Users.AddRange(page.Items.Select(u => u.ToProto()));
        return response;
    }

    [Requires(Resources.User, "update")]
    [Audited(AuditCodes.UserUpdate)]
    public override async Task<User> UpdateUser(UpdateUserRequest request, ServerCallContext context)
    {
        var (audit, name) = Subject(context, request.Name);
        var roles = ProtoMapping.RoleNames(request.SetRoles);
        if (name == Caller.Of(context).Name && !RoleSet.Allows(await identities.RolesAsync(roles), Resources.User, "update"))
        {
            // Otherwise one slip in dtctl users edit leaves the caller unable to undo it.
            throw DeviceTrustException.PermissionDenied(
                "these roles would take away your own right to change users' roles; ask another administrator to make this change");
        }
        var change = await grains.GetGrain<IUserGrain>(name).SetRolesAsync(roles);
        identities.InvalidateUser(name);
        audit.Detail("user_id", change.After.Id).Change("roles", change.Before.Roles, change.After.Roles);
        audit.Message = $"roles of {name} set to {string.Join(", ", change.After.Roles)} (were {string.Join(", ", change.Before.Roles)})";
        return change.After.ToProto();
    }

    [Requires(Resources.User, "update")]
    [Audited(AuditCodes.UserReset)]
    public override async Task<ResetUserResponse> ResetUser(ResetUserRequest request, ServerCallContext context)
    {
        var (audit, name) = Subject(context, request.Name);
        var ttl = ProtoMapping.Ttl(request.InviteTtl, NewInvitation.DefaultTtl, NewInvitation.MaxTtl, "invite_ttl");
        var invitation = NewInvitation.For(name, authority.Ca.Pin, time.GetUtcNow(), ttl);
        var change = await grains.GetGrain<IUserGrain>(name).ResetAsync(invitation.SecretHash, invitation.Expires);
        identities.InvalidateUser(name);
        audit.Detail("user_id", change.After.Id).Change("generation", change.Before.Generation, change.After.Generation)
            .Detail("had_password", change.Before.HasPassword).Detail("invite_expires", invitation.Expires);
        audit.Message = $"user {name} reset: password cleared, earlier certificates void, new invitation valid until {invitation.Expires:u}";
        return new ResetUserResponse { User = change.After.ToProto(), InviteToken = invitation.Token.Encode() };
    }

    [Requires(Resources.User, "delete")]
    [Audited(AuditCodes.UserDelete)]
    public override async Task<DeleteUserResponse> DeleteUser(DeleteUserRequest request, ServerCallContext context)
    {
        var (audit, name) = Subject(context, request.Name);
        var caller = Caller.Of(context);
        if (name == caller.Name)
        {
            throw DeviceTrustException.FailedPrecondition("you cannot delete your own user: ask another administrator");
        }
        var removed = await grains.GetGrain<IUserGrain>(name).DeleteAsync();
        identities.InvalidateUser(name);
        audit.Detail("user_id", removed.Id).Detail("roles", removed.Roles);
        audit.Message = $"user {name} deleted";
        return new DeleteUserResponse();
    }
}
