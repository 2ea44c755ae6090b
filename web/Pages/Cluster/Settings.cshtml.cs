using DeviceTrust.Core.Audit;
using DeviceTrust.Core.Roles;
using DeviceTrust.Grains;
using DeviceTrust.Grains.Config;
using Microsoft.AspNetCore.Mvc;

namespace DeviceTrust.Web.Pages.Cluster;

/// <summary>The cluster configuration (cluster_config: read).</summary>
public sealed class SettingsModel(IGrainFactory grains) : ConsolePage
{
    public ClusterConfigView Config { get; private set; } = null!;

    public async Task<IActionResult> OnGetAsync()
    {
        if (await RequireAsync(Resources.ClusterConfig, "read", AuditCodes.ConfigGet) is { } refused)
        {
            return refused;
        }
        Config = await grains.GetGrain<IClusterConfigGrain>(GrainKeys.Cluster).GetAsync();
        return Page();
    }
}
