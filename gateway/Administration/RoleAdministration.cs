using DeviceTrust.Core.Audit;
using DeviceTrust.Core.Errors;
using DeviceTrust.Core.Roles;
using DeviceTrust.Core.Users;
using DeviceTrust.Gateway.Audit;
using DeviceTrust.Gateway.Policy;
using DeviceTrust.Grains;
using DeviceTrust.Grains.Roles;
using DeviceTrust.Grains.Users;

namespace DeviceTrust.Gateway.Administration;

/// <summary>
/// Writing and deleting roles, for the RPCs and the web console alike: the YAML is parsed here with the CLI's own
/// parser (so a malformed document never reaches the registry grain), and nobody edits away their own right to edit
/// roles. The caller checked the role verb and writes <paramref name="audit"/>.
/// </summary>
public sealed class RoleAdministration(IGrainFactory grains, IdentityCache identities)
{
    private IRoleRegistryGrain Registry => grains.GetGrain<IRoleRegistryGrain>(GrainKeys.Cluster);

    /// <summary>
    /// Writes a role; <paramref name="overwrite"/> replaces one of the same name. <paramref name="replacing"/>, when set,
    /// names the role an edit replaces: the YAML must keep that name (an edit never renames).
    /// </summary>
    public async Task<RoleDocument> CreateAsync(AuditRecord audit, UserView actor, string yaml, bool overwrite, string? replacing = null)
    {
        if (replacing is not null)
        {
            audit.Target = "role/" + UserName.Printable(replacing);
        }
        var role = RoleYaml.Parse(yaml);
        if (replacing is not null && role.Name != replacing)
        {
            throw DeviceTrustException.InvalidArgument(
                $"the edit renames role \"{UserName.Printable(replacing)}\" to \"{role.Name}\": nothing was changed; make a new role for a new name");
        }
        audit.Target = "role/" + role.Name;
        await EnsureNoSelfLockoutAsync(actor, role.Name, role);
        var written = await Registry.CreateAsync(yaml, overwrite);
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
        return written.Document;
    }

    public async Task DeleteAsync(AuditRecord audit, UserView actor, string name)
    {
        audit.Target = "role/" + UserName.Printable(name);
        name = UserName.Validate(name);
        await EnsureNoSelfLockoutAsync(actor, name, PresetRoles.All.FirstOrDefault(r => r.Name == name));
        var removed = await Registry.DeleteAsync(name);
        identities.InvalidateRoles();
        audit.Detail("yaml", removed);
        audit.Message = $"role {name} deleted";
    }

    /// <summary>
    /// Nobody edits away their own right to edit roles (a typo in the editor role would otherwise leave the cluster
    /// without anyone who can fix it): <paramref name="after"/> is the role as it would be, null when it would be gone.
    /// </summary>
    private async Task EnsureNoSelfLockoutAsync(UserView actor, string name, Role? after)
    {
        if (!actor.Roles.Contains(name))
        {
            return;
        }
        var roles = (await identities.RolesAsync(actor.Roles)).Where(r => r.Name != name).ToList();
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
}
