using System.Security.Cryptography;
using DeviceTrust.Core.Access;
using DeviceTrust.Core.Audit;
using DeviceTrust.Core.Devices;
using DeviceTrust.Core.Errors;
using DeviceTrust.Core.Roles;
using DeviceTrust.Core.Users;
using DeviceTrust.Gateway.Audit;
using DeviceTrust.Gateway.Authentication;
using DeviceTrust.Gateway.Policy;
using DeviceTrust.Grains;
using DeviceTrust.Grains.Inventory;
using DeviceTrust.Grains.Locks;
using DeviceTrust.Grains.Roles;
using DeviceTrust.Grains.Users;
using DeviceTrust.Proto.V1;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using WireLock = DeviceTrust.Proto.V1.Lock;

namespace DeviceTrust.Gateway.Services;

/// <summary>Locks: made by naming a user, a device (by id or asset tag) or a role, which is resolved to an id once.</summary>
public sealed class LockGrpcService(IGrainFactory grains, IdentityCache identities, TimeProvider time) : LockService.LockServiceBase
{
    private const int MaxMessage = 256;
    private ILockRegistryGrain Registry => grains.GetGrain<ILockRegistryGrain>(GrainKeys.Cluster);

    [Requires(Resources.Lock, "create")]
    [Audited(AuditCodes.LockCreate)]
    public override async Task<WireLock> CreateLock(CreateLockRequest request, ServerCallContext context)
    {
        var caller = Caller.Of(context);
        var audit = context.Audit();
        var message = DeviceFields.Text(request.Message, "message");
        if (message.Length > MaxMessage)
        {
            throw DeviceTrustException.InvalidArgument($"message is longer than {MaxMessage} characters");
        }
        TimeSpan? ttl = request.Ttl is null or { Seconds: 0, Nanos: 0 } ? null : ProtoMapping.Ttl(request.Ttl, TimeSpan.FromDays(3650), TimeSpan.FromDays(3650), "ttl");
        var (kind, target, label) = await ResolveAsync(request, caller);
        var now = time.GetUtcNow();
        var created = await Registry.AddAsync(new AccessLock(RandomNumberGenerator.GetHexString(12, lowercase: true), kind, target, label, message, now,
            ttl is { } t ? now + t : null, caller.Name));
        identities.InvalidateLocks();
        audit.Target = $"{created.KindText}/{label}";
        if (kind == LockTargetKind.Device)
        {
            audit.DeviceId = target;
        }
        audit.Detail("lock_id", created.Id).Detail("kind", created.KindText).Detail("target", target).Detail("message", message)
            .Detail("expires", created.Expires);
        audit.Message = $"lock {created.Id} on {created.KindText} {label} created{(created.Expires is { } e ? $", until {e:u}" : "")}";
        return ToProto(created);
    }

    [Requires(Resources.Lock, "list")]
    [Audited(AuditCodes.LockList, Reads = true)]
    public override async Task<ListLocksResponse> ListLocks(ListLocksRequest request, ServerCallContext context)
    {
        var snapshot = await Registry.GetSnapshotIfChangedAsync(-1);
        var response = new ListLocksResponse();
        response.Locks.AddRange(snapshot!.Locks.Select(ToProto));
        return response;
    }

    [Requires(Resources.Lock, "delete")]
    [Audited(AuditCodes.LockDelete)]
    public override async Task<DeleteLockResponse> DeleteLock(DeleteLockRequest request, ServerCallContext context)
    {
        var audit = context.Audit();
        if (request.Id.Length is 0 or > 64 || !request.Id.All(char.IsAsciiLetterOrDigit))
        {
            throw DeviceTrustException.InvalidArgument("id must be the id of a lock, as dtctl locks ls shows it");
        }
        var removed = await Registry.RemoveAsync(request.Id);
        identities.InvalidateLocks();
        audit.Target = $"{removed.KindText}/{removed.Label}";
        if (removed.Kind == LockTargetKind.Device)
        {
            audit.DeviceId = removed.Target;
        }
        audit.Detail("lock_id", removed.Id).Detail("kind", removed.KindText).Detail("target", removed.Target).Detail("message", removed.Message);
        audit.Message = $"lock {removed.Id} on {removed.KindText} {removed.Label} removed";
        return new DeleteLockResponse();
    }

    private async Task<(LockTargetKind Kind, string Target, string Label)> ResolveAsync(CreateLockRequest request, Caller caller)
    {
        switch (request.TargetCase)
        {
            case CreateLockRequest.TargetOneofCase.User:
                var name = UserName.Validate(request.User);
                var user = await grains.GetGrain<IUserGrain>(name).GetAsync() ?? throw DeviceTrustException.NotFound($"user \"{name}\" not found");
                if (user.Id == caller.User.Id)
                {
                    throw DeviceTrustException.FailedPrecondition("you cannot lock yourself out: ask another administrator");
                }
                return (LockTargetKind.User, user.Id.ToString(), user.Name);
            case CreateLockRequest.TargetOneofCase.DeviceId:
                var device = await grains.GetGrain<IDeviceGrain>(DeviceFields.DeviceId(request.DeviceId)).GetAsync()
                             ?? throw DeviceTrustException.NotFound("device not found");
                return (LockTargetKind.Device, device.Id.ToString(), device.AssetTag);
            case CreateLockRequest.TargetOneofCase.AssetTag:
                var tag = DeviceFields.AssetTag(request.AssetTag);
                var holders = new List<DeviceRecord>();
                foreach (var os in new[] { OsType.Linux, OsType.MacOS, OsType.Windows })
                {
                    if (await grains.GetGrain<IAssetTagGrain>(AssetTags.Key(os, tag)).GetAsync() is { } id
                        && await grains.GetGrain<IDeviceGrain>(id).GetAsync() is { } found)
                    {
                        holders.Add(found);
                    }
                }
                return holders.Count switch
                {
                    0 => throw DeviceTrustException.NotFound($"device {tag} not found"),
                    1 => (LockTargetKind.Device, holders[0].Id.ToString(), holders[0].AssetTag),
                    _ => throw DeviceTrustException.InvalidArgument($"asset tag {tag} is used by {holders.Count} devices (one per OS): lock by device_id"),
                };
            case CreateLockRequest.TargetOneofCase.Role:
                var role = UserName.Validate(request.Role);
                if ((await grains.GetGrain<IRoleRegistryGrain>(GrainKeys.Cluster).FindMissingAsync([role])).Count > 0)
                {
                    throw DeviceTrustException.NotFound($"role \"{role}\" not found");
                }
                if (caller.User.Roles.Contains(role))
                {
                    throw DeviceTrustException.FailedPrecondition($"you hold role {role}: a lock on it would lock you out too; ask another administrator");
                }
                return (LockTargetKind.Role, role, role);
            default:
                throw DeviceTrustException.InvalidArgument("say what to lock: user, device_id, asset_tag or role");
        }
    }

    private static WireLock ToProto(AccessLock l) => new()
    {
        Id = l.Id,
        Kind = l.KindText,
        Target = l.Target,
        Label = l.Label,
        Message = l.Message,
        Created = Timestamp.FromDateTimeOffset(l.Created),
        Expires = l.Expires is { } e ? Timestamp.FromDateTimeOffset(e) : null,
        CreatedBy = l.CreatedBy,
    };
}
