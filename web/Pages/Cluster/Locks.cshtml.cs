using DeviceTrust.Core.Access;
using DeviceTrust.Core.Audit;
using DeviceTrust.Core.Errors;
using DeviceTrust.Core.Roles;
using DeviceTrust.Grains;
using DeviceTrust.Grains.Locks;
using Microsoft.AspNetCore.Mvc;

namespace DeviceTrust.Web.Pages.Cluster;

/// <summary>The locks (lock: list); making one (lock: create) and removing one (lock: delete), as dtctl locks does.</summary>
public sealed class LocksModel(IGrainFactory grains) : ConsolePage
{
    /// <summary>What a lock made here can name: the form's choices.</summary>
    public static readonly (string Value, string Label, LockTargetBy By)[] Targets =
    [
        ("user", "user (name)", LockTargetBy.User), ("asset-tag", "device (asset tag)", LockTargetBy.AssetTag),
        ("device-id", "device (id)", LockTargetBy.DeviceId), ("role", "role (name)", LockTargetBy.Role),
    ];

    public IReadOnlyList<AccessLock> Locks { get; private set; } = [];
    public bool MayCreate { get; private set; }
    public bool MayDelete { get; private set; }
    public string? DoneText { get; private set; }

    public async Task<IActionResult> OnGetAsync([FromQuery] string? done)
    {
        DoneText = done switch
        {
            "created" => "The lock is in force: access checks and device authentication refuse its target.",
            "removed" => "The lock was removed.",
            _ => null,
        };
        if (await RequireAsync(Resources.Lock, "list", AuditCodes.LockList) is { } refused)
        {
            return refused;
        }
        Locks = (await grains.GetGrain<ILockRegistryGrain>(GrainKeys.Cluster).GetSnapshotIfChangedAsync(-1))?.Locks ?? [];
        MayCreate = await Host.AllowsAsync(Person, Resources.Lock, "create");
        MayDelete = await Host.AllowsAsync(Person, Resources.Lock, "delete");
        return Page();
    }

    public async Task<IActionResult> OnPostCreateAsync([FromForm] string? by, [FromForm] string? target, [FromForm] string? message, [FromForm] string? ttl)
    {
        if (Targets.FirstOrDefault(t => t.Value == by) is not { Value: not null } kind)
        {
            return Message(400, "Not done", "choose what to lock from the list");
        }
        if (Devices.DetailModel.LockTtls.FirstOrDefault(t => t.Value == (ttl ?? "")) is not { Value: not null } length)
        {
            return Message(400, "Not done", "choose how long the lock lasts from the list");
        }
        return await ActAsync(() => Host.LockAsync(HttpContext, Person, kind.By, target?.Trim() ?? "", message ?? "", length.Ttl), "/locks?done=created");
    }

    public async Task<IActionResult> OnPostRemoveAsync([FromForm] string? id)
    {
        return await ActAsync(() => Host.RemoveLockAsync(HttpContext, Person, id ?? ""), "/locks?done=removed");
    }
}
