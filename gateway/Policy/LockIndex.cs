using DeviceTrust.Core.Access;

namespace DeviceTrust.Gateway.Policy;

/// <summary>
/// The locks of one snapshot by what they target, so the check on every call looks up three keys instead of going
/// through every lock.
/// </summary>
public sealed class LockIndex(IReadOnlyList<AccessLock> locks)
{
    private readonly ILookup<(LockTargetKind, string), AccessLock> _byTarget = locks.ToLookup(l => (l.Kind, l.Target));

    public IReadOnlyList<AccessLock> All { get; } = locks;

    /// <summary>The locks in force at <paramref name="now"/> on this user, any of these roles, or this device.</summary>
    public IReadOnlyList<AccessLock> Against(string userId, IEnumerable<string> roles, string? deviceId, DateTimeOffset now)
    {
        if (All.Count == 0)
        {
            return [];
        }
        var found = _byTarget[(LockTargetKind.User, userId)].Concat(roles.SelectMany(r => _byTarget[(LockTargetKind.Role, r)]));
        if (deviceId is not null)
        {
            found = found.Concat(_byTarget[(LockTargetKind.Device, deviceId)]);
        }
        return found.Where(l => l.InForce(now)).ToList();
    }
}
