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
    public bool MayEdit { get; private set; }
    public string? DoneText { get; private set; }

    public async Task<IActionResult> OnGetAsync([FromQuery] string? done)
    {
        DoneText = done switch
        {
            "saved" => "The role was saved: it applies at once, to certificates already issued too.",
            "deleted" => "The role was deleted.",
            _ => null,
        };
        if (await RequireAsync(Resources.Role, "list", AuditCodes.RoleList) is { } refused)
        {
            return refused;
        }
        Roles = (await grains.GetGrain<IRoleRegistryGrain>(GrainKeys.Cluster).GetSnapshotAsync()).Roles;
        MayEdit = await Host.AllowsAsync(Person, Resources.Role, "create");
        return Page();
    }
}
