using DeviceTrust.Core.Config;

namespace DeviceTrust.Core.Roles;

/// <summary>
/// A role: what its holders may do. <see cref="Rules"/> maps a resource (or "*") to verbs (or "*");
/// <see cref="Logins"/> and <see cref="NodeLabels"/> say which SSH logins on which nodes it reaches, the other label
/// maps which apps, databases, Kubernetes clusters and desktops; <see cref="DeviceTrustMode"/> is the role option
/// <c>device_trust_mode</c> (null = not set), which applies to what the role reaches.
/// </summary>
public sealed record Role(
    string Name,
    string Description,
    IReadOnlyDictionary<string, IReadOnlyList<string>> Rules,
    IReadOnlyList<string> Logins,
    IReadOnlyDictionary<string, IReadOnlyList<string>> NodeLabels,
    DeviceTrustMode? DeviceTrustMode)
{
    private static readonly IReadOnlyDictionary<string, IReadOnlyList<string>> None = new Dictionary<string, IReadOnlyList<string>>();

    public IReadOnlyDictionary<string, IReadOnlyList<string>> AppLabels { get; init; } = None;
    public IReadOnlyDictionary<string, IReadOnlyList<string>> DbLabels { get; init; } = None;
    public IReadOnlyDictionary<string, IReadOnlyList<string>> KubeLabels { get; init; } = None;
    public IReadOnlyDictionary<string, IReadOnlyList<string>> DesktopLabels { get; init; } = None;

    /// <summary>The labels of resources of <paramref name="kind"/> this role reaches (empty: none).</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> LabelsFor(Access.ResourceKind kind) => kind switch
    {
        Access.ResourceKind.Ssh => NodeLabels,
        Access.ResourceKind.App => AppLabels,
        Access.ResourceKind.Db => DbLabels,
        Access.ResourceKind.Kube => KubeLabels,
        _ => DesktopLabels,
    };

    public bool Allows(string resource, string verb)
    {
        foreach (var (ruleResource, verbs) in Rules)
        {
            if ((ruleResource == Resources.Wildcard || ruleResource == resource)
                && verbs.Any(v => v == Resources.Wildcard || v == verb))
            {
                return true;
            }
        }
        return false;
    }
}

/// <summary>Role evaluation over everything a user holds: a verb is allowed when any role allows it.</summary>
public static class RoleSet
{
    /// <summary>The sentence of a refusal for want of a verb, the same for an RPC and a console page.</summary>
    public static string DeniedReason(string user, IEnumerable<string> roles, string resource, string verb) =>
        $"access denied: user \"{user}\" may not {verb} {resource} (roles: {string.Join(", ", roles)})";

    public static bool Allows(IEnumerable<Role> roles, string resource, string verb) => roles.Any(r => r.Allows(resource, verb));
}
