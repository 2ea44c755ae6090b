using DeviceTrust.Core.Access;
using DeviceTrust.Core.Audit;
using DeviceTrust.Core.Roles;
using DeviceTrust.Grains;
using DeviceTrust.Grains.Locks;
using Microsoft.AspNetCore.Mvc;

namespace DeviceTrust.Web.Pages.Cluster;

/// <summary>The locks (lock: list).</summary>
public sealed class LocksModel(IGrainFactory grains) : ConsolePage
{
    public IReadOnlyList<AccessLock> Locks { get; private set; } = [];

    public async Task<IActionResult> OnGetAsync()
    {
        if (await RequireAsync(Resources.Lock, "list", AuditCodes.LockList) is { } refused)
        {
            return refused;
        }
        Locks = (await grains.GetGrain<ILockRegistryGrain>(GrainKeys.Cluster).GetSnapshotIfChangedAsync(-1))?.Locks ?? [];
        return Page();
    }
}
