using DeviceTrust.Core.Access;
using DeviceTrust.Core.Audit;
using DeviceTrust.Core.Devices;
using DeviceTrust.Core.Errors;
using DeviceTrust.Core.Roles;
using DeviceTrust.Grains.Inventory;
using Microsoft.AspNetCore.Mvc;

namespace DeviceTrust.Web.Pages.Devices;

/// <summary>
/// One device: with device: read, or for its owner and the users it is shared with; and, for administrators, what
/// dtctl does to it: an enrollment token, unenroll, lock, delete (each held to its RPC's verb, checks and audit).
/// </summary>
public sealed class DetailModel(IGrainFactory grains) : ConsolePage
{
    /// <summary>How long a token made here lasts: the choices offered, and the default (dtctl's).</summary>
    public static readonly (string Value, string Label, TimeSpan Ttl)[] TokenTtls =
    [
        ("15m", "15 minutes", TimeSpan.FromMinutes(15)), ("1h", "1 hour", TimeSpan.FromHours(1)),
        ("1d", "1 day", TimeSpan.FromDays(1)), ("7d", "7 days", TimeSpan.FromDays(7)),
    ];

    /// <summary>How long a lock made here lasts ("" never ends).</summary>
    public static readonly (string Value, string Label, TimeSpan? Ttl)[] LockTtls =
    [
        ("", "until removed", null), ("1h", "1 hour", TimeSpan.FromHours(1)), ("1d", "1 day", TimeSpan.FromDays(1)),
        ("7d", "7 days", TimeSpan.FromDays(7)), ("30d", "30 days", TimeSpan.FromDays(30)),
    ];

    /// <summary>What the last action did, for the page it redirected to (a fixed word, never free text from the URL).</summary>
    public static readonly IReadOnlyDictionary<string, string> Done = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["unenrolled"] = "The device was unenrolled: its certificates no longer carry a trusted device.",
        ["locked"] = "The device is locked: access checks refuse it until the lock is removed or ends.",
    };

    public DeviceRecord Device { get; private set; } = null!;
    public bool MayReadAudit { get; private set; }
    public bool MayCreateToken { get; private set; }
    public bool MayUpdate { get; private set; }
    public bool MayDelete { get; private set; }
    public bool MayLock { get; private set; }
    public string? DoneText { get; private set; }

    /// <summary>The token just made (only in the answer to the POST that made it).</summary>
    public ConsoleEnrollToken? EnrollToken { get; private set; }

    public async Task<IActionResult> OnGetAsync(Guid id, [FromQuery] string? done)
    {
        DoneText = done is not null && Done.TryGetValue(done, out var text) ? text : null;
        return await ShowAsync(id);
    }

    public async Task<IActionResult> OnPostEnrollTokenAsync(Guid id, [FromForm] string? ttl)
    {
        if (TokenTtls.FirstOrDefault(t => t.Value == ttl) is not { Value: not null } choice)
        {
            return Message(400, "Not done", "choose how long the token lasts from the list");
        }
        try
        {
            EnrollToken = await Host.CreateEnrollTokenAsync(HttpContext, Person, id, choice.Ttl);
        }
        catch (DeviceTrustException e)
        {
            return Refused(e);
        }
        return await ShowAsync(id);
    }

    public async Task<IActionResult> OnPostUnenrollAsync(Guid id)
    {
        if (!Confirmed())
        {
            return NotConfirmed();
        }
        return await ActAsync(() => Host.UnenrollDeviceAsync(HttpContext, Person, id), $"/devices/{id}?done=unenrolled");
    }

    public async Task<IActionResult> OnPostLockAsync(Guid id, [FromForm] string? message, [FromForm] string? ttl)
    {
        if (LockTtls.FirstOrDefault(t => t.Value == (ttl ?? "")) is not { Value: not null } choice)
        {
            return Message(400, "Not done", "choose how long the lock lasts from the list");
        }
        return await ActAsync(() => Host.LockAsync(HttpContext, Person, LockTargetBy.DeviceId, id.ToString(), message ?? "", choice.Ttl), $"/devices/{id}?done=locked");
    }

    public async Task<IActionResult> OnPostDeleteAsync(Guid id)
    {
        if (!Confirmed())
        {
            return NotConfirmed();
        }
        return await ActAsync(() => Host.DeleteDeviceAsync(HttpContext, Person, id), "/devices?done=deleted");
    }

    private async Task<IActionResult> ShowAsync(Guid id)
    {
        var device = await grains.GetGrain<IDeviceGrain>(id).GetAsync();
        var userId = Person.Id.ToString();
        var own = device is not null && (device.OwnerId == userId || device.Users.Any(u => u.Id == userId));
        // Someone without device: read learns nothing, not even whether the id exists.
        if (!own && await RequireAsync(Resources.Device, "read", AuditCodes.DeviceGet) is { } refused)
        {
            return refused;
        }
        if (device is null)
        {
            return Message(404, "Not found", "device not found");
        }
        Device = device;
        MayReadAudit = await Host.AllowsAsync(Person, Resources.Audit, "list");
        MayCreateToken = await Host.AllowsAsync(Person, Resources.Device, "create_enroll_token");
        MayUpdate = await Host.AllowsAsync(Person, Resources.Device, "update");
        MayDelete = await Host.AllowsAsync(Person, Resources.Device, "delete");
        MayLock = await Host.AllowsAsync(Person, Resources.Lock, "create");
        return Page();
    }
}
