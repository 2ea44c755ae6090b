using DeviceTrust.Core.Audit;
using DeviceTrust.Core.Devices;
using DeviceTrust.Core.Errors;
using DeviceTrust.Core.Roles;
using DeviceTrust.Core.Secrets;
using DeviceTrust.Core.Users;
using DeviceTrust.Gateway.Administration;
using DeviceTrust.Gateway.Audit;
using DeviceTrust.Gateway.Authentication;
using DeviceTrust.Gateway.Ceremonies;
using DeviceTrust.Gateway.Errors;
using DeviceTrust.Gateway.Hosting;
using DeviceTrust.Gateway.Policy;
using DeviceTrust.Grains.Inventory;
using DeviceTrust.Grains.ReadModels;
using DeviceTrust.Grains.Tokens;
using DeviceTrust.Grains.Users;
using DeviceTrust.Proto.V1;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using DeviceUser = DeviceTrust.Core.Devices.DeviceUser;

namespace DeviceTrust.Gateway.Services;

/// <summary>The inventory, enrollment tokens, and the two ceremonies (which live in gateway/Ceremonies/).</summary>
public sealed class DeviceTrustGrpcService(
    IGrainFactory grains,
    IdentityCache identities,
    IDeviceInventory inventory,
    IDeviceImport import,
    DeviceAdministration administration,
    AuditRecorder recorder,
    EnrollmentCeremony enrollment,
    AuthenticationCeremony authentication,
    InventorySync sync,
    TimeProvider time) : DeviceTrustService.DeviceTrustServiceBase
{
    [Requires(Resources.Device, "create")]
    [Audited(AuditCodes.DeviceCreate)]
    public override async Task<Device> CreateDevice(CreateDeviceRequest request, ServerCallContext context)
    {
        var caller = Caller.Of(context);
        var audit = context.Audit();
        var os = DeviceMapping.FromProto(request.OsType);
        var tag = DeviceFields.AssetTag(request.AssetTag);
        audit.OsType = os.ToText();
        audit.AssetTag = tag;
        var pin = request.EkSha256.Length == 0 ? "" : EkPin.Parse(request.EkSha256);
        var ttl = ProtoMapping.Ttl(request.EnrollTokenTtl, NewInvitation.DefaultTtl, NewInvitation.MaxTtl, "enroll_token_ttl");
        if (request.CreateEnrollToken)
        {
            if (!await identities.AllowsAsync(caller.User, Resources.Device, "create_enroll_token"))
            {
                throw GatewayInterceptor.Denied(caller.User, Resources.Device, "create_enroll_token");
            }
            administration.AdmitToken(context.GetHttpContext().Connection.RemoteIpAddress, caller.User);
        }
        var device = await grains.GetGrain<IAssetTagGrain>(AssetTags.Key(os, tag))
            .CreateDeviceAsync(Guid.NewGuid(), os, tag, Core.Devices.DeviceSource.Api, caller.Name, pin);
        audit.Describe(device);
        audit.Message = $"device {tag}/{os.ToText()} added to the inventory";
        if (pin.Length > 0)
        {
            audit.Detail("pinned_ek", EkPin.Text(pin));
            audit.Message += $", EK pinned ({EkPin.Text(pin)})";
        }
        var message = DeviceMapping.ToProto(device);
        if (request.CreateEnrollToken)
        {
            var minted = await administration.MintTokenAsync(device, ttl, caller.User);
            message.EnrollToken = new DeviceEnrollToken { Token = minted.Token, ExpireTime = Timestamp.FromDateTimeOffset(minted.Expires) };
            var expires = minted.Expires;
            audit.Detail("enroll_token_expires", expires);
            audit.Message += ", with an enrollment token";
            // The token is a state change of its own: rules that watch device.token.create see it too.
            var created = recorder.Begin(AuditCodes.DeviceTokenCreate, context, caller);
            created.Describe(device);
            created.Detail("expires", expires);
            await created.SucceededAsync($"enrollment token created for {tag}/{os.ToText()} with the device, expires {expires:u}");
        }
        return message;
    }

    [Requires(Resources.Device, "create")]
    [Audited(AuditCodes.DeviceBulkCreate)]
    public override async Task<BulkCreateDevicesResponse> BulkCreateDevices(BulkCreateDevicesRequest request, ServerCallContext context)
    {
        if (request.Devices.Count is 0 or > IDeviceImport.MaxDevices)
        {
            throw DeviceTrustException.InvalidArgument($"devices: between 1 and {IDeviceImport.MaxDevices} per call, not {request.Devices.Count}");
        }
        var caller = Caller.Of(context);
        var results = new BulkCreateDeviceResult[request.Devices.Count];
        var failures = new List<AuditEntry>();
        var valid = new List<(int Index, NewDevice Device)>();
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < request.Devices.Count; i++)
        {
            var item = request.Devices[i];
            results[i] = new BulkCreateDeviceResult { OsType = item.OsType, AssetTag = DeviceFields.Clipped(item.AssetTag) };
            var record = Item(context, caller, i);
            try
            {
                var os = DeviceMapping.FromProto(item.OsType);
                var tag = DeviceFields.AssetTag(item.AssetTag);
                record.OsType = os.ToText();
                record.AssetTag = tag;
                var device = new NewDevice(os, tag, item.EkSha256.Length == 0 ? "" : EkPin.Parse(item.EkSha256));
                if (!seen.TryAdd(AssetTags.Key(os, tag), i))
                {
                    throw DeviceTrustException.AlreadyExists($"device {tag}/{os.ToText()} is already in this request (device #{seen[AssetTags.Key(os, tag)] + 1})");
                }
                valid.Add((i, device));
            }
            catch (DeviceTrustException e)
            {
                failures.Add(Refuse(results[i], record, ErrorStatus.Of(e.Kind), e.Message));
            }
        }

        var outcomes = await import.CreateAsync(valid.Select(v => v.Device).ToList(), Core.Devices.DeviceSource.Api, caller.Name,
            device => CreatedEvent(context, caller, device, seen[device.AssetTagKey]), context.CancellationToken);
        for (var n = 0; n < valid.Count; n++)
        {
            var (index, device) = valid[n];
            var result = results[index];
            switch (outcomes[n].Result)
            {
                case ImportResult.Created:
                    result.DeviceId = outcomes[n].DeviceId.ToString();
                    break;
                case ImportResult.AlreadyExists:
                    result.DeviceId = outcomes[n].DeviceId.ToString();
                    failures.Add(Refuse(result, Describe(Item(context, caller, index), device), StatusCode.AlreadyExists,
                        $"device {device.AssetTag}/{device.OsType.ToText()} is already in the inventory"));
                    break;
                default:
                    // The tag's row names a device that is gone: the asset tag grain decides, as for one CreateDevice.
                    await CreateOneAsync(result, device, index, context, caller, failures);
                    break;
            }
        }
        await recorder.WriteAllAsync(failures);

        var response = new BulkCreateDevicesResponse { Created = results.Count(r => r.Code == 0) };
        response.Failed = results.Length - response.Created;
        response.Results.AddRange(results);
        var audit = context.Audit();
        audit.Detail("created", response.Created).Detail("failed", response.Failed);
        audit.Message = $"{results.Length} devices: {response.Created} added to the inventory, {response.Failed} refused";
        return response;
    }

    private static AuditRecord Describe(AuditRecord record, NewDevice device)
    {
        record.OsType = device.OsType.ToText();
        record.AssetTag = device.AssetTag;
        return record;
    }

    /// <summary>The device.create event of the request's device at <paramref name="index"/> (counted from 1 in the event).</summary>
    private AuditRecord Item(ServerCallContext context, Caller caller, int index) =>
        recorder.Begin(AuditCodes.DeviceCreate, context, caller).Detail("bulk_item", index + 1);

    private AuditEntry CreatedEvent(ServerCallContext context, Caller caller, Core.Devices.DeviceRecord device, int index)
    {
        var record = Item(context, caller, index);
        record.Describe(device);
        var message = $"device {device.AssetTag}/{device.OsType.ToText()} added to the inventory (bulk)";
        if (device.PinnedEkSha256.Length > 0)
        {
            record.Detail("pinned_ek", EkPin.Text(device.PinnedEkSha256));
            message += $", EK pinned ({EkPin.Text(device.PinnedEkSha256)})";
        }
        return recorder.Entry(record, true, "", message);
    }

    private AuditEntry Refuse(BulkCreateDeviceResult result, AuditRecord record, StatusCode status, string reason)
    {
        result.Code = (int)status;
        result.Message = reason;
        return recorder.Entry(record, false, status.ToString(), reason);
    }

    private async Task CreateOneAsync(BulkCreateDeviceResult result, NewDevice device, int index, ServerCallContext context, Caller caller, List<AuditEntry> failures)
    {
        Core.Devices.DeviceRecord created;
        try
        {
            created = await grains.GetGrain<IAssetTagGrain>(AssetTags.Key(device.OsType, device.AssetTag))
                .CreateDeviceAsync(Guid.NewGuid(), device.OsType, device.AssetTag, Core.Devices.DeviceSource.Api, caller.Name, device.PinnedEkSha256);
        }
        catch (Exception e) when (ErrorStatus.Expected(e, context.CancellationToken) is { } expected)
        {
            failures.Add(Refuse(result, Describe(Item(context, caller, index), device), expected.Status, expected.Reason));
            return;
        }
        result.DeviceId = created.Id.ToString();
        // Outside the try: a device that was created is never reported as refused, even if its event fails the call.
        await recorder.WriteAllAsync([CreatedEvent(context, caller, created, index)]);
    }

    [Requires(Resources.Device, "create")]
    [Audited(AuditCodes.DeviceSync)]
    public override Task SyncInventory(IAsyncStreamReader<SyncInventoryRequest> requestStream, IServerStreamWriter<SyncInventoryResponse> responseStream,
        ServerCallContext context) => sync.RunAsync(requestStream, responseStream, context);

    [Requires(Resources.Device, "read")]
    [Audited(AuditCodes.DeviceGet, Reads = true)]
    public override async Task<Device> GetDevice(GetDeviceRequest request, ServerCallContext context) =>
        DeviceMapping.ToProto(await grains.GetGrain<IDeviceGrain>(DeviceFields.DeviceId(request.DeviceId)).GetAsync()
                              ?? throw DeviceTrustException.NotFound("device not found"));

    [Requires(Resources.Device, "read")]
    [Audited(AuditCodes.DeviceFind, Reads = true)]
    public override async Task<FindDevicesResponse> FindDevices(FindDevicesRequest request, ServerCallContext context)
    {
        var response = new FindDevicesResponse();
        response.Devices.AddRange((await DeviceLookup.FindAsync(grains, request.IdOrTag)).Select(DeviceMapping.ToProto));
        return response;
    }

    [Requires(Resources.Device, "list")]
    [Audited(AuditCodes.DeviceList, Reads = true)]
    public override async Task<ListDevicesResponse> ListDevices(ListDevicesRequest request, ServerCallContext context)
    {
        if (request.PageSize is < 0 or > IDeviceInventory.MaxPageSize)
        {
            throw DeviceTrustException.InvalidArgument($"page_size must be between 0 and {IDeviceInventory.MaxPageSize}");
        }
        var page = await inventory.ListAsync(request.PageSize == 0 ? 100 : request.PageSize, request.PageToken, context.CancellationToken);
        var response = new ListDevicesResponse { NextPageToken = page.NextPageToken };
        response.Devices.AddRange(page.Items.Select(DeviceMapping.ToProto));
        return response;
    }

    [AnyUser]
    [Audited(AuditCodes.DeviceListMine, Reads = true)]
    public override async Task<ListDevicesResponse> ListMyDevices(ListMyDevicesRequest request, ServerCallContext context)
    {
        var response = new ListDevicesResponse();
        var mine = await inventory.OwnedByAsync(Caller.Of(context).User.Id.ToString(), context.CancellationToken);
        response.Devices.AddRange(mine.Select(DeviceMapping.ToProto));
        return response;
    }

    [Requires(Resources.Device, "delete")]
    [Audited(AuditCodes.DeviceDelete)]
    public override async Task<DeleteDeviceResponse> DeleteDevice(DeleteDeviceRequest request, ServerCallContext context)
    {
        var audit = context.Audit();
        audit.DeviceId = request.DeviceId;
        await administration.DeleteAsync(audit, DeviceFields.DeviceId(request.DeviceId));
        return new DeleteDeviceResponse();
    }

    [Requires(Resources.Device, "update")]
    [Audited(AuditCodes.DeviceUpdate)]
    public override async Task<Device> UpdateDevice(UpdateDeviceRequest request, ServerCallContext context)
    {
        var audit = context.Audit();
        audit.DeviceId = request.DeviceId;
        var id = DeviceFields.DeviceId(request.DeviceId);
        var profile = DeviceMapping.FromProto(request.Profile, time.GetUtcNow());
        if (request.AddUsers.Count + request.RemoveUsers.Count > DeviceRecord.MaxUsers)
        {
            throw DeviceTrustException.InvalidArgument($"add at most {DeviceRecord.MaxUsers} users at once");
        }
        var remove = request.RemoveUsers.Select(UserName.Validate).Distinct().ToList();
        var add = new List<DeviceUser>();
        foreach (var name in request.AddUsers.Select(UserName.Validate).Distinct())
        {
            // By immutable id: a later user who takes this name over is not a user of the device.
            var user = await grains.GetGrain<IUserGrain>(name).GetAsync() ?? throw DeviceTrustException.NotFound($"user \"{name}\" not found");
            add.Add(new DeviceUser(user.Id.ToString(), user.Name));
        }
        var pin = !request.HasEkSha256 ? null : request.EkSha256.Length == 0 ? "" : EkPin.Parse(request.EkSha256);
        var update = new DeviceUpdate(request.Unenroll, profile, add, remove, pin);
        if (update.IsEmpty)
        {
            throw DeviceTrustException.InvalidArgument("nothing to update: set unenroll, profile, add_users, remove_users or ek_sha256");
        }
        return DeviceMapping.ToProto(await administration.UpdateAsync(audit, id, update));
    }

    [Requires(Resources.Device, "create_enroll_token")]
    [Audited(AuditCodes.DeviceTokenCreate)]
    public override async Task<DeviceEnrollToken> CreateDeviceEnrollToken(CreateDeviceEnrollTokenRequest request, ServerCallContext context)
    {
        var audit = context.Audit();
        audit.DeviceId = request.DeviceId;
        var id = DeviceFields.DeviceId(request.DeviceId);
        var ttl = ProtoMapping.Ttl(request.Ttl, NewInvitation.DefaultTtl, NewInvitation.MaxTtl, "ttl");
        var data = request.DeviceData is null ? null : DeviceMapping.FromProto(request.DeviceData, time.GetUtcNow());
        var token = await administration.CreateEnrollTokenAsync(audit, Caller.Of(context).User, context.GetHttpContext().Connection.RemoteIpAddress,
            id, ttl, data);
        return new DeviceEnrollToken { Token = token.Token, ExpireTime = Timestamp.FromDateTimeOffset(token.Expires) };
    }

    [AnyUser]
    [Audited(AuditCodes.DeviceEnroll, BySelf = true)]
    public override Task EnrollDevice(IAsyncStreamReader<EnrollDeviceRequest> requestStream, IServerStreamWriter<EnrollDeviceResponse> responseStream,
        ServerCallContext context) => enrollment.RunAsync(requestStream, responseStream, context);

    [AnyUser]
    [Audited(AuditCodes.DeviceAuthenticate, BySelf = true)]
    public override Task AuthenticateDevice(IAsyncStreamReader<AuthenticateDeviceRequest> requestStream,
        IServerStreamWriter<AuthenticateDeviceResponse> responseStream, ServerCallContext context) =>
        authentication.RunAsync(requestStream, responseStream, context);
}
