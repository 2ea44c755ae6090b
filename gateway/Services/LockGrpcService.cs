using System.Security.Cryptography;
using DeviceTrust.Core.Access;
using DeviceTrust.Core.Audit;
using DeviceTrust.Core.Devices;
using DeviceTrust.Core.Errors;
using DeviceTrust.Core.Roles;
using DeviceTrust.Core.Users;
using DeviceTrust.Gateway.Administration;
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
public sealed class LockGrpcService(IGrainFactory grains, LockAdministration administration) : LockService.LockServiceBase
{
    private ILockRegistryGrain Registry => grains.GetGrain<ILockRegistryGrain>(GrainKeys.Cluster);

    [Requires(Resources.Lock, "create")]
    [Audited(AuditCodes.LockCreate)]
    public override async Task<WireLock> CreateLock(CreateLockRequest request, ServerCallContext context)
    {
        TimeSpan? ttl = request.Ttl is null or { Seconds: 0, Nanos: 0 }
            ? null
            : ProtoMapping.Ttl(request.Ttl, LockAdministration.MaxTtl, LockAdministration.MaxTtl, "ttl");
        var (by, target) = request.TargetCase switch
        {
            CreateLockRequest.TargetOneofCase.User => (LockTargetBy.User, request.User),
            CreateLockRequest.TargetOneofCase.DeviceId => (LockTargetBy.DeviceId, request.DeviceId),
            CreateLockRequest.TargetOneofCase.AssetTag => (LockTargetBy.AssetTag, request.AssetTag),
            CreateLockRequest.TargetOneofCase.Role => (LockTargetBy.Role, request.Role),
            _ => throw DeviceTrustException.InvalidArgument("say what to lock: user, device_id, asset_tag or role"),
        };
        return ToProto(await administration.CreateAsync(context.Audit(), Caller.Of(context).User, by, target, request.Message, ttl));
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
        await administration.DeleteAsync(context.Audit(), request.Id);
        return new DeleteLockResponse();
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
