using DeviceTrust.Core.Errors;
using DeviceTrust.Core.Users;
using DeviceTrust.Gateway.Authentication;
using DeviceTrust.Gateway.Policy;
using DeviceTrust.Grains.Roles;
using DeviceTrust.Proto.V1;
using Grpc.Core;
using Resources = DeviceTrust.Core.Roles.Resources;
using RoleYaml = DeviceTrust.Core.Roles.RoleYaml;

namespace DeviceTrust.Gateway.Services;

public sealed class RoleGrpcService(IGrainFactory grains, IdentityCache identities, ILogger<RoleGrpcService> log) : RoleService.RoleServiceBase
{
    private IRoleRegistryGrain Registry => grains.GetGrain<IRoleRegistryGrain>(RoleRegistryGrain.Key);

    [Requires(Resources.Role, "list")]
    public override async Task<ListRolesResponse> ListRoles(ListRolesRequest request, ServerCallContext context)
    {
        var snapshot = await Registry.GetSnapshotAsync();
        var response = new ListRolesResponse();
        response.Roles.AddRange(snapshot.Roles.Select(ToProto));
        return response;
    }

    [Requires(Resources.Role, "read")]
    public override async Task<Role> GetRole(GetRoleRequest request, ServerCallContext context)
    {
        var name = UserName.Validate(request.Name);
        var snapshot = await Registry.GetSnapshotAsync();
        return ToProto(snapshot.Roles.FirstOrDefault(r => r.Name == name) ?? throw DeviceTrustException.NotFound($"role \"{name}\" not found"));
    }

    [Requires(Resources.Role, "create")]
    public override async Task<Role> CreateRole(CreateRoleRequest request, ServerCallContext context)
    {
        // Parsed here too, so a malformed document is refused before it reaches the registry grain.
        var role = RoleYaml.Parse(request.Yaml);
        var document = await Registry.CreateAsync(request.Yaml, request.Overwrite);
        identities.InvalidateRoles();
        log.LogInformation("{Caller} wrote role {Role}", Caller.Of(context).Name, role.Name);
        return ToProto(document);
    }

    [Requires(Resources.Role, "delete")]
    public override async Task<DeleteRoleResponse> DeleteRole(DeleteRoleRequest request, ServerCallContext context)
    {
        var name = UserName.Validate(request.Name);
        await Registry.DeleteAsync(name);
        identities.InvalidateRoles();
        log.LogInformation("{Caller} deleted role {Role}", Caller.Of(context).Name, name);
        return new DeleteRoleResponse();
    }

    private static Role ToProto(RoleDocument document) => new() { Name = document.Name, Yaml = document.Yaml, Preset = document.Preset };
}
