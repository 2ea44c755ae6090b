using DeviceTrust.Core.Config;
using DeviceTrust.Core.Roles;
using DeviceTrust.Core.Users;

namespace DeviceTrust.Core.Access;

/// <summary>Who asks: the user behind a certificate, looked up live (kind and roles).</summary>
public sealed record AccessSubject(string UserId, string UserName, UserKind Kind, IReadOnlyList<Role> Roles);

/// <summary>The device a certificate says it was issued on (its device extensions), and that device as it is now.</summary>
public sealed record DeviceEvidence(string DeviceId, string AssetTag, string CredentialId, LiveDevice? Now);

/// <summary>
/// A device's live state: whether it still exists, is enrolled with the credential the certificate names, and may be
/// used by the user (owner or added user).
/// </summary>
public sealed record LiveDevice(bool Enrolled, string CredentialId, IReadOnlyList<string> UserIds);

/// <summary>The answer, and everything that led to it, so <c>dtctl access check</c> can explain a decision.</summary>
public sealed record AccessDecision(
    bool Allowed,
    IReadOnlyList<string> Reasons,
    IReadOnlyList<string> MatchedRoles,
    DeviceTrustMode Mode,
    string ModeSource,
    bool TrustedDevice,
    IReadOnlyList<AccessLock> Locks)
{
    public string Reason => string.Join("; ", Reasons);
}

/// <summary>
/// The one access decision (DESIGN.md, "Enforcement"), pure: locks first (a user, a device or a role cut off), then
/// the roles that reach the resource, then the device trust mode — the strictest of the cluster-wide mode (for the
/// kinds it covers) and the modes of the matching roles — and, when it requires one, a trusted device: the certificate
/// names a device that is still enrolled with that credential and may be used by this user. Messages are sentences
/// a person can act on.
/// </summary>
public static class AccessRules
{
    public static AccessDecision Decide(AccessSubject subject, DeviceEvidence? device, string clusterMode, IReadOnlyList<AccessLock> locks,
        AccessResource resource, DateTimeOffset now)
    {
        // Locks bind whatever the roles say.
        var inForce = locks.Where(l => l.InForce(now) && Targets(l, subject, device)).ToList();
        var matched = subject.Roles.Where(r => Reaches(r, resource)).ToList();
        var cluster = DeviceTrustModes.FailClosed(clusterMode);
        var (mode, source) = EffectiveMode(cluster, subject.Kind, matched, resource.Kind);
        var trusted = device is { Now: { } live } && live.Enrolled && live.CredentialId == device.CredentialId && live.UserIds.Contains(subject.UserId);
        var reasons = new List<string>();
        if (inForce.Count > 0)
        {
            reasons.AddRange(inForce.Select(l => l.Reason));
        }
        if (matched.Count == 0)
        {
            reasons.Add($"access to {resource.Describe()} is not allowed by any of {subject.UserName}'s roles ({string.Join(", ", subject.Roles.Select(r => r.Name))})");
        }
        else if (mode == DeviceTrustMode.Required && !trusted)
        {
            reasons.Add(UntrustedReason(resource, device));
        }
        return new AccessDecision(reasons.Count == 0, reasons, matched.Select(r => r.Name).ToList(), mode, source, trusted, inForce);
    }

    private static string UntrustedReason(AccessResource resource, DeviceEvidence? device)
    {
        var what = $"access to {resource.Describe()} requires a trusted device";
        return device switch
        {
            null => $"{what}: enroll this device (dtsh device enroll) and log in again",
            { Now: null } => $"{what}: device {device.AssetTag} no longer exists",
            { Now.Enrolled: false } => $"{what}: device {device.AssetTag} is no longer enrolled; enroll it again and log in again",
            { Now: { } live } when live.CredentialId != device.CredentialId => $"{what}: device {device.AssetTag} was enrolled again since this login; log in again",
            _ => $"{what}: you may no longer use device {device.AssetTag}",
        };
    }

    private static bool Targets(AccessLock l, AccessSubject subject, DeviceEvidence? device) => l.Kind switch
    {
        LockTargetKind.User => l.Target == subject.UserId,
        LockTargetKind.Device => device is not null && l.Target == device.DeviceId,
        LockTargetKind.Role => subject.Roles.Any(r => r.Name == l.Target),
        _ => false,
    };

    /// <summary>
    /// The mode that applies: the cluster-wide mode for SSH, databases and Kubernetes, and each matching role's own mode;
    /// the strictest wins. A cluster mode of off turns device trust off altogether (devices cannot authenticate then);
    /// required-for-humans is required for humans and optional for bots; an unknown mode was read as required.
    /// </summary>
    public static (DeviceTrustMode Mode, string Source) EffectiveMode(DeviceTrustMode cluster, UserKind kind, IReadOnlyList<Role> matched, ResourceKind resource)
    {
        if (cluster == DeviceTrustMode.Off)
        {
            return (DeviceTrustMode.Off, "cluster mode off");
        }
        var clusterEffective = cluster switch
        {
            DeviceTrustMode.RequiredForHumans => kind == UserKind.Bot ? DeviceTrustMode.Optional : DeviceTrustMode.Required,
            _ => cluster,
        };
        var (mode, source) = resource.FollowsClusterMode()
            ? (clusterEffective, $"cluster mode {cluster.ToText()}")
            : (DeviceTrustMode.Optional, $"{resource.ToText()} resources follow roles only");
        foreach (var role in matched)
        {
            if (role.DeviceTrustMode is { } roleMode && Rank(roleMode) > Rank(mode))
            {
                (mode, source) = (roleMode, $"role {role.Name}");
            }
        }
        return (mode, source);
    }

    /// <summary>
    /// Why this user must prove a trusted device somewhere (the cluster's mode for them, or the first of their roles
    /// that requires one), or null when nothing does: what the web console's yellow shield says.
    /// </summary>
    public static string? TrustedDeviceRequiredBy(DeviceTrustMode cluster, UserKind kind, IReadOnlyList<Role> roles)
    {
        var (mode, source) = EffectiveMode(cluster, kind, roles, ResourceKind.Ssh);
        return mode == DeviceTrustMode.Required ? source : null;
    }

    private static int Rank(DeviceTrustMode mode) => mode switch
    {
        DeviceTrustMode.Off => 0,
        DeviceTrustMode.Optional => 1,
        _ => 2,
    };

    /// <summary>The logins the roles allow on a node with these labels (what dtsh ls shows); "*" means any.</summary>
    public static IReadOnlyList<string> LoginsOn(IEnumerable<Role> roles, IReadOnlyDictionary<string, string> labels) =>
        roles.Where(r => MatchesLabels(r, ResourceKind.Ssh, labels)).SelectMany(r => r.Logins).Distinct(StringComparer.Ordinal)
            .Order(StringComparer.Ordinal).ToList();

    /// <summary>Whether a role's allow rules reach the resource: its labels, and for SSH the login.</summary>
    public static bool Reaches(Role role, AccessResource resource)
    {
        if (resource.Kind == ResourceKind.Ssh && !role.Logins.Any(l => l == resource.Login || l == "*"))
        {
            return false;
        }
        return MatchesLabels(role, resource.Kind, resource.Labels);
    }

    private static bool MatchesLabels(Role role, ResourceKind kind, IReadOnlyDictionary<string, string> labels)
    {
        var wanted = role.LabelsFor(kind);
        if (wanted.Count == 0)
        {
            return false;
        }
        foreach (var (key, values) in wanted)
        {
            if (key == "*")
            {
                if (!values.Contains("*"))
                {
                    return false;
                }
                continue;
            }
            if (!labels.TryGetValue(key, out var actual) || !values.Any(v => v == "*" || v == actual))
            {
                return false;
            }
        }
        return true;
    }
}
