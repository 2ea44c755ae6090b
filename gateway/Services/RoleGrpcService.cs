using DeviceTrust.Core.Audit;
using DeviceTrust.Core.Errors;
using DeviceTrust.Core.Users;
using DeviceTrust.Gateway.Administration;
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

public sealed class RoleGrpcService(IGrainFactory grains, RoleAdministration administration) : RoleService.RoleServiceBase
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
    public override async Task<Role> CreateRole(CreateRoleRequest request, ServerCallContext context) =>
        ToProto(await administration.CreateAsync(context.Audit(), Caller.Of(context).User, request.Yaml, request.Overwrite));

    [Requires(Resources.Role, "delete")]
    [Audited(AuditCodes.RoleDelete)]
    public override async Task<DeleteRoleResponse> DeleteRole(DeleteRoleRequest request, ServerCallContext context)
    {
        await administration.DeleteAsync(context.Audit(), Caller.Of(context).User, request.Name);
        return new DeleteRoleResponse();
    }

    private static Role ToProto(RoleDocument document) => new() { Name = document.Name, Yaml = document.Yaml, Preset = document.Preset };
}
