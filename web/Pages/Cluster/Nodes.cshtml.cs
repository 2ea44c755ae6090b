using DeviceTrust.Core.Audit;
using DeviceTrust.Core.Roles;
using DeviceTrust.Grains;
using DeviceTrust.Grains.Nodes;
using Microsoft.AspNetCore.Mvc;

namespace DeviceTrust.Web.Pages.Cluster;

/// <summary>The SSH nodes (node: list).</summary>
public sealed class NodesModel(IGrainFactory grains) : ConsolePage
{
    public IReadOnlyList<NodeListing> Nodes { get; private set; } = [];

    public async Task<IActionResult> OnGetAsync()
    {
        if (await RequireAsync(Resources.Node, "list", AuditCodes.NodeList) is { } refused)
        {
            return refused;
        }
        Nodes = await grains.GetGrain<INodeRegistryGrain>(GrainKeys.Cluster).ListAsync();
        return Page();
    }
}
