using DeviceTrust.Core.Users;
using Microsoft.AspNetCore.Http;

namespace DeviceTrust.Web;

/// <summary>The person behind a console session, as the cluster knows them now.</summary>
public sealed record ConsoleUser(Guid Id, string Name, UserKind Kind, IReadOnlyList<string> Roles);

/// <summary>
/// What the console needs from the gateway that hosts it, so that a page is held to exactly the rules an RPC is:
/// the same password login (rate limits, login delays, locks), the same role verbs, the same audit log.
/// </summary>
public interface IConsoleHost
{
    /// <summary>The cluster's name, as dtsh shows it.</summary>
    string ClusterName { get; }

    /// <summary>
    /// Checks a password as dtsh's login does and records <c>user.login</c> either way. Throws
    /// <see cref="Core.Errors.DeviceTrustException"/> with the sentence the person may see.
    /// </summary>
    Task<ConsoleUser> SignInAsync(HttpContext http, string user, string password);

    /// <summary>
    /// The session's user as they are now: null when the name is gone or names another user (re-created), and
    /// PermissionDenied with the lock's reason when a lock targets them or one of their roles.
    /// </summary>
    ValueTask<ConsoleUser?> CurrentAsync(string userId, string name);

    /// <summary>Whether the user's roles allow the verb on the resource (as the RPC's [Requires] is checked).</summary>
    ValueTask<bool> AllowsAsync(ConsoleUser user, string resource, string verb);

    /// <summary>What requires this user to use a trusted device (cluster mode or a role), or null when nothing does.</summary>
    ValueTask<string?> TrustedDeviceRequiredByAsync(ConsoleUser user);

    /// <summary>
    /// Why the device a session proved is no longer trusted (deleted, unenrolled, re-enrolled with another credential,
    /// no longer the user's, locked), or null while it still is: checked on every page, as an access check would.
    /// </summary>
    ValueTask<string?> DeviceDistrustedAsync(ConsoleUser user, Grains.Web.WebSessionDevice device);

    /// <summary>
    /// The access decision for the user on a resource, as dtsh's CheckMyAccess makes it, with the device this session
    /// proved (if any) as the certificate's device claim. InvalidArgument for a malformed resource, NotFound for an
    /// unknown node.
    /// </summary>
    Task<ConsoleDecision> CheckMyAccessAsync(HttpContext http, ConsoleUser user, Grains.Web.WebSessionDevice? device, string kind, string name, string login);

    /// <summary>
    /// Records one event of a console request, from the browser's address. A refusal with no user id (nobody signed in)
    /// is written sampled: the first of its kind in a window at once, the rest counted into one summary.
    /// </summary>
    Task AuditAsync(HttpContext http, ConsoleEvent entry);

    /// <summary>
    /// Refuses a device web token with ResourceExhausted (audited sampled, like every rate limit) when this user asked
    /// for too many lately.
    /// </summary>
    Task AdmitDeviceWebTokenAsync(HttpContext http, ConsoleUser user);

    // An administrator's actions, each held to its RPC's rules: the role verb the RPC requires (checked against the
    // user's roles as they are now), its validation, rate limits and self-lockout checks, and one event under the RPC's
    // code with the same details — a refusal with its reason. Each throws DeviceTrustException with the sentence to show.

    /// <summary>device: create_enroll_token (CreateDeviceEnrollToken).</summary>
    Task<ConsoleEnrollToken> CreateEnrollTokenAsync(HttpContext http, ConsoleUser user, Guid deviceId, TimeSpan ttl);

    /// <summary>device: update (UpdateDevice with unenroll).</summary>
    Task UnenrollDeviceAsync(HttpContext http, ConsoleUser user, Guid deviceId);

    /// <summary>device: delete (DeleteDevice).</summary>
    Task DeleteDeviceAsync(HttpContext http, ConsoleUser user, Guid deviceId);

    /// <summary>lock: create (CreateLock): a user or a role by name, a device by id or asset tag.</summary>
    Task<Core.Access.AccessLock> LockAsync(HttpContext http, ConsoleUser user, Core.Access.LockTargetBy by, string target, string message, TimeSpan? ttl);

    /// <summary>lock: delete (DeleteLock).</summary>
    Task RemoveLockAsync(HttpContext http, ConsoleUser user, string lockId);

    /// <summary>
    /// role: create (CreateRole): the YAML parsed as dtctl roles create has it parsed. <paramref name="replacing"/>
    /// names the role an edit replaces (the YAML must keep its name, as dtctl roles edit requires); null makes a new role.
    /// </summary>
    Task<Grains.Roles.RoleDocument> SaveRoleAsync(HttpContext http, ConsoleUser user, string yaml, string? replacing);

    /// <summary>role: delete (DeleteRole).</summary>
    Task DeleteRoleAsync(HttpContext http, ConsoleUser user, string name);
}

/// <summary>An enrollment token as the console shows it, once, in the answer to the POST that made it.</summary>
public sealed record ConsoleEnrollToken(string Token, DateTimeOffset Expires);

/// <summary>An audit event of the console: <paramref name="Status"/> is "" on success, else the gRPC-style status name.</summary>
public sealed record ConsoleEvent(string Code, string User, string UserId, bool Success, string Status, string Message)
{
    public string Target { get; init; } = "";
    public string DeviceId { get; init; } = "";
}

/// <summary>An access decision, as the console shows it.</summary>
public sealed record ConsoleDecision(bool Allowed, IReadOnlyList<string> Reasons, string Mode, string ModeSource, bool TrustedDevice);
