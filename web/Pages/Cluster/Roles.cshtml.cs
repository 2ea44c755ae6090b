using DeviceTrust.Core.Audit;
using DeviceTrust.Core.Roles;
using DeviceTrust.Grains;
using DeviceTrust.Grains.Roles;
using Microsoft.AspNetCore.Mvc;

namespace DeviceTrust.Web.Pages.Cluster;

/// <summary>The roles and their YAML (role: list).</summary>
public sealed class RolesModel(IGrainFactory grains) : ConsolePage
{
    public IReadOnlyList<RoleDocument> Roles { get; private set; } = [];

    public async Task<IActionResult> OnGetAsync()
    {
        if (await RequireAsync(Resources.Role, "list", AuditCodes.RoleList) is { } refused)
        {
            return refused;
        }
        Roles = (await grains.GetGrain<IRoleRegistryGrain>(GrainKeys.Cluster).GetSnapshotAsync()).Roles;
        return Page();
    }
}
