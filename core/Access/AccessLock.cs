namespace DeviceTrust.Core.Access;

/// <summary>What a lock cuts off: one user (by immutable id), one device, or everyone holding a role.</summary>
public enum LockTargetKind
{
    User,
    Device,
    Role,
}

/// <summary>How a request to lock names what it locks (resolved to a <see cref="LockTargetKind"/> and an id once, when the lock is made).</summary>
public enum LockTargetBy
{
    User,
    DeviceId,
    AssetTag,
    Role,
}

/// <summary>
/// A lock in force until it is removed or <see cref="Expires"/>. <see cref="Target"/> is the user id, device id or role
/// name; <see cref="Label"/> is how people know it (the user's name, the device's asset tag, the role).
/// </summary>
public sealed record AccessLock(
    string Id,
    LockTargetKind Kind,
    string Target,
    string Label,
    string Message,
    DateTimeOffset Created,
    DateTimeOffset? Expires,
    string CreatedBy)
{
    public bool InForce(DateTimeOffset now) => Expires is not { } end || now < end;

    /// <summary>The sentence a denied person reads, e.g. <c>lock targeting device C02XYZ is in force: lost laptop</c>.</summary>
    public string Reason => $"lock targeting {KindText} {Label} is in force{(Message.Length > 0 ? ": " + Message : "")}";

    public string KindText => Kind switch
    {
        LockTargetKind.User => "user",
        LockTargetKind.Device => "device",
        _ => "role",
    };
}
