using DeviceTrust.Core.Audit;
using DeviceTrust.Core.Errors;
using DeviceTrust.Core.Users;
using DeviceTrust.Gateway.Audit;
using DeviceTrust.Gateway.Authentication;
using DeviceTrust.Gateway.Policy;
using DeviceTrust.Grains;
using DeviceTrust.Grains.Roles;
using DeviceTrust.Proto.V1;
using Grpc.Core;
using PresetRoles = DeviceTrust.Core.Roles.PresetRoles;
using Resources = DeviceTrust.Core.Roles.Resources;
using RoleSet = DeviceTrust.Core.Roles.RoleSet;
using RoleYaml = DeviceTrust.Core.Roles.RoleYaml;

namespace DeviceTrust.Gateway.Services;

public sealed class RoleGrpcService(IGrainFactory grains, IdentityCache identities) : RoleService.RoleServiceBase
{
    private IRoleRegistryGrain Registry => grains.GetGrain<IRoleRegistryGrain>(GrainKeys.Cluster);

    [Requires(Resources.Role, "list")]
    [Audited(AuditCodes.RoleList, Reads = true)]
    public override async Task<ListRolesResponse> ListRoles(ListRolesRequest request, ServerCallContext context)
    {
        var snapshot = await Registry.GetSnapshotAsync();
        var response = new ListRolesResponse();
        response.Roles.AddRange(snapshot.Roles.Select(ToProto));
        return response;
    }

    [Requires(Resources.Role, "read")]
    [Audited(AuditCodes.RoleGet, Reads = true)]
    public override async Task<Role> GetRole(GetRoleRequest request, ServerCallContext context)
    {
        var name = UserName.Validate(request.Name);
        var snapshot = await Registry.GetSnapshotAsync();
        return ToProto(snapshot.Roles.FirstOrDefault(r => r.Name == name) ?? throw DeviceTrustException.NotFound($"role \"{name}\" not found"));
    }

    [Requires(Resources.Role, "create")]
    [Audited(AuditCodes.RoleCreate)]
    public override async Task<Role> CreateRole(CreateRoleRequest request, ServerCallContext context)
    {
        var audit = context.Audit();
        // Parsed here too, so a malformed document is refused before it reaches the registry grain.
        var role = RoleYaml.Parse(request.Yaml);
        audit.Target = "role/" + role.Name;
        await EnsureNoSelfLockoutAsync(Caller.Of(context), role.Name, role);
        var written = await Registry.CreateAsync(request.Yaml, request.Overwrite);
        identities.InvalidateRoles();
        if (written.Replaced is { } before)
        {
            audit.Type = AuditCodes.RoleUpdate;
            audit.Change("yaml", before, written.Document.Yaml);
            audit.Message = $"role {role.Name} replaced";
        }
        else
        {
            audit.Detail("yaml", written.Document.Yaml);
            audit.Message = $"role {role.Name} created";
        }
        return ToProto(written.Document);
    }

    [Requires(Resources.Role, "delete")]
    [Audited(AuditCodes.RoleDelete)]
    public override async Task<DeleteRoleResponse> DeleteRole(DeleteRoleRequest request, ServerCallContext context)
    {
        var audit = context.Audit();
        audit.Target = "role/" + UserName.Printable(request.Name);
        var name = UserName.Validate(request.Name);
        await EnsureNoSelfLockoutAsync(Caller.Of(context), name, PresetRoles.All.FirstOrDefault(r => r.Name == name));
        var removed = await Registry.DeleteAsync(name);
        identities.InvalidateRoles();
        audit.Detail("yaml", removed);
        audit.Message = $"role {name} deleted";
        return new DeleteRoleResponse();
    }

    /// <summary>
    /// Nobody edits away their own right to edit roles (a typo in the editor role would otherwise leave the cluster
    /// without anyone who can fix it): <paramref name="after"/> is the role as it would be, null when it would be gone.
    /// </summary>
    private async Task EnsureNoSelfLockoutAsync(Caller caller, string name, Core.Roles.Role? after)
    {
        if (!caller.User.Roles.Contains(name))
        {
            return;
        }
        var roles = (await identities.RolesAsync(caller.User.Roles)).Where(r => r.Name != name).ToList();
        if (after is not null)
        {
            roles.Add(after);
        }
        if (!RoleSet.Allows(roles, Resources.Role, "create"))
        {
            throw DeviceTrustException.PermissionDenied(
                $"you hold role {name}: this change would take away your own right to edit roles; ask another administrator to make it");
        }
    }

    private static Role ToProto(RoleDocument document) => new() { Name = document.Name, Yaml = document.Yaml, Preset = document.Preset };
}
