using System.Security.Cryptography;
using DeviceTrust.Core.Access;
using DeviceTrust.Core.Devices;
using DeviceTrust.Core.Errors;
using DeviceTrust.Core.Users;
using DeviceTrust.Gateway.Audit;
using DeviceTrust.Gateway.Policy;
using DeviceTrust.Grains;
using DeviceTrust.Grains.Inventory;
using DeviceTrust.Grains.Locks;
using DeviceTrust.Grains.Roles;
using DeviceTrust.Grains.Users;

namespace DeviceTrust.Gateway.Administration;

/// <summary>
/// Making and removing locks, for the RPCs and the web console alike (the caller checked the role verb and writes
/// <paramref name="audit"/>). Nobody locks themselves out: not their own user, not a role they hold.
/// </summary>
public sealed class LockAdministration(IGrainFactory grains, IdentityCache identities, TimeProvider time)
{
    public const int MaxMessage = 256;
    public static readonly TimeSpan MaxTtl = TimeSpan.FromDays(3650);

    private ILockRegistryGrain Registry => grains.GetGrain<ILockRegistryGrain>(GrainKeys.Cluster);

    public async Task<AccessLock> CreateAsync(AuditRecord audit, UserView actor, LockTargetBy by, string target, string message, TimeSpan? ttl)
    {
        message = DeviceFields.Text(message, "message");
        if (message.Length > MaxMessage)
        {
            throw DeviceTrustException.InvalidArgument($"message is longer than {MaxMessage} characters");
        }
        if (ttl is { } span && (span <= TimeSpan.Zero || span > MaxTtl))
        {
            throw DeviceTrustException.InvalidArgument($"ttl must be positive and at most {MaxTtl.TotalDays:0} days");
        }
        var (kind, id, label) = await ResolveAsync(by, target, actor);
        var now = time.GetUtcNow();
        var created = await Registry.AddAsync(new AccessLock(RandomNumberGenerator.GetHexString(12, lowercase: true), kind, id, label, message, now,
            ttl is { } t ? now + t : null, actor.Name));
        identities.InvalidateLocks();
        audit.Target = $"{created.KindText}/{label}";
        if (kind == LockTargetKind.Device)
        {
            audit.DeviceId = id;
        }
        audit.Detail("lock_id", created.Id).Detail("kind", created.KindText).Detail("target", id).Detail("message", message)
            .Detail("expires", created.Expires);
        audit.Message = $"lock {created.Id} on {created.KindText} {label} created{(created.Expires is { } e ? $", until {e:u}" : "")}";
        return created;
    }

    public async Task<AccessLock> DeleteAsync(AuditRecord audit, string lockId)
    {
        if (lockId.Length is 0 or > 64 || !lockId.All(char.IsAsciiLetterOrDigit))
        {
            throw DeviceTrustException.InvalidArgument("id must be the id of a lock, as dtctl locks ls shows it");
        }
        var removed = await Registry.RemoveAsync(lockId);
        identities.InvalidateLocks();
        audit.Target = $"{removed.KindText}/{removed.Label}";
        if (removed.Kind == LockTargetKind.Device)
        {
            audit.DeviceId = removed.Target;
        }
        audit.Detail("lock_id", removed.Id).Detail("kind", removed.KindText).Detail("target", removed.Target).Detail("message", removed.Message);
        audit.Message = $"lock {removed.Id} on {removed.KindText} {removed.Label} removed";
        return removed;
    }

    private async Task<(LockTargetKind Kind, string Target, string Label)> ResolveAsync(LockTargetBy by, string target, UserView actor)
    {
        switch (by)
        {
            case LockTargetBy.User:
                var name = UserName.Validate(target);
                var user = await grains.GetGrain<IUserGrain>(name).GetAsync() ?? throw DeviceTrustException.NotFound($"user \"{name}\" not found");
                if (user.Id == actor.Id)
                {
                    throw DeviceTrustException.FailedPrecondition("you cannot lock yourself out: ask another administrator");
                }
                return (LockTargetKind.User, user.Id.ToString(), user.Name);
            case LockTargetBy.DeviceId:
                var device = await grains.GetGrain<IDeviceGrain>(DeviceFields.DeviceId(target)).GetAsync()
                             ?? throw DeviceTrustException.NotFound("device not found");
                return (LockTargetKind.Device, device.Id.ToString(), device.AssetTag);
            case LockTargetBy.AssetTag:
                var tag = DeviceFields.AssetTag(target);
                var holders = await DeviceLookup.ByAssetTagAsync(grains, tag);
                return holders.Count switch
                {
                    0 => throw DeviceTrustException.NotFound($"device {tag} not found"),
                    1 => (LockTargetKind.Device, holders[0].Id.ToString(), holders[0].AssetTag),
                    _ => throw DeviceTrustException.InvalidArgument($"asset tag {tag} is used by {holders.Count} devices (one per OS): lock by device_id"),
                };
            case LockTargetBy.Role:
                var role = UserName.Validate(target);
                if ((await grains.GetGrain<IRoleRegistryGrain>(GrainKeys.Cluster).FindMissingAsync([role])).Count > 0)
                {
                    throw DeviceTrustException.NotFound($"role \"{role}\" not found");
                }
                if (actor.Roles.Contains(role))
                {
                    throw DeviceTrustException.FailedPrecondition($"you hold role {role}: a lock on it would lock you out too; ask another administrator");
                }
                return (LockTargetKind.Role, role, role);
            default:
                throw DeviceTrustException.InvalidArgument("say what to lock: user, device_id, asset_tag or role");
        }
    }
}
