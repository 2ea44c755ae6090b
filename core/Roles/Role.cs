using DeviceTrust.Core.Config;

namespace DeviceTrust.Core.Roles;

/// <summary>
/// A role: what its holders may do. <see cref="Rules"/> maps a resource (or "*") to verbs (or "*");
/// <see cref="DeviceTrustMode"/> is the role option <c>device_trust_mode</c> (null = not set).
/// </summary>
public sealed record Role(
    string Name,
    string Description,
    IReadOnlyDictionary<string, IReadOnlyList<string>> Rules,
    IReadOnlyList<string> Logins,
    IReadOnlyDictionary<string, IReadOnlyList<string>> NodeLabels,
    DeviceTrustMode? DeviceTrustMode)
{
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
    public static bool Allows(IEnumerable<Role> roles, string resource, string verb) => roles.Any(r => r.Allows(resource, verb));
}
