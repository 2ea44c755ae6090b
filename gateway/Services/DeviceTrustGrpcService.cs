using DeviceTrust.Core.Devices;
using DeviceTrust.Core.Errors;
using DeviceTrust.Core.Roles;
using DeviceTrust.Core.Secrets;
using DeviceTrust.Gateway.Audit;
using DeviceTrust.Gateway.Authentication;
using DeviceTrust.Gateway.Ceremonies;
using DeviceTrust.Gateway.Hosting;
using DeviceTrust.Gateway.Policy;
using DeviceTrust.Grains.Inventory;
using DeviceTrust.Grains.Tokens;
using DeviceTrust.Proto.V1;
using DeviceTrust.Silo.Database;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace DeviceTrust.Gateway.Services;

/// <summary>The inventory, enrollment tokens, and the two ceremonies (which live in gateway/Ceremonies/).</summary>
public sealed class DeviceTrustGrpcService(
    IGrainFactory grains,
    IdentityCache identities,
    DeviceInventoryQuery inventory,
    AuditRecorder audit,
    EnrollmentCeremony enrollment,
    AuthenticationCeremony authentication,
    TimeProvider time) : DeviceTrustService.DeviceTrustServiceBase
{
    [Requires(Resources.Device, "create")]
    public override async Task<Device> CreateDevice(CreateDeviceRequest request, ServerCallContext context)
    {
        var caller = Caller.Of(context);
        var os = DeviceMapping.FromProto(request.OsType);
        var tag = DeviceFields.AssetTag(request.AssetTag);
        var ttl = ProtoMapping.Ttl(request.EnrollTokenTtl, NewInvitation.DefaultTtl, TimeSpan.FromDays(7), "enroll_token_ttl");
        if (request.CreateEnrollToken && !await identities.AllowsAsync(caller.User, Resources.Device, "create_enroll_token"))
        {
            throw GatewayInterceptor.Denied(caller.User, Resources.Device, "create_enroll_token");
        }
        var device = await grains.GetGrain<IAssetTagGrain>(AssetTags.Key(os, tag))
            .CreateDeviceAsync(Guid.NewGuid(), os, tag, Core.Devices.DeviceSource.Api, caller.Name);
        var record = audit.Begin("device.create", context, caller.Name);
        Fill(record, device);
        await record.SucceededAsync($"device {tag}/{os.ToText()} added to the inventory");
        var message = DeviceMapping.ToProto(device);
        if (request.CreateEnrollToken)
        {
            message.EnrollToken = await MintTokenAsync(device, ttl, context);
        }
        return message;
    }

    [Requires(Resources.Device, "read")]
    public override async Task<Device> GetDevice(GetDeviceRequest request, ServerCallContext context) =>
        DeviceMapping.ToProto(await grains.GetGrain<IDeviceGrain>(DeviceFields.DeviceId(request.DeviceId)).GetAsync()
                              ?? throw DeviceTrustException.NotFound("device not found"));

    [Requires(Resources.Device, "read")]
    public override async Task<FindDevicesResponse> FindDevices(FindDevicesRequest request, ServerCallContext context)
    {
        var response = new FindDevicesResponse();
        if (Guid.TryParseExact(request.IdOrTag, "D", out var id))
        {
            if (await grains.GetGrain<IDeviceGrain>(id).GetAsync() is { } byId)
            {
                response.Devices.Add(DeviceMapping.ToProto(byId));
            }
            return response;
        }
        var tag = DeviceFields.AssetTag(request.IdOrTag);
        foreach (var os in new[] { OsType.Linux, OsType.MacOS, OsType.Windows })
        {
            if (await grains.GetGrain<IAssetTagGrain>(AssetTags.Key(os, tag)).GetAsync() is { } holder
                && await grains.GetGrain<IDeviceGrain>(holder).GetAsync() is { } device)
            {
                response.Devices.Add(DeviceMapping.ToProto(device));
            }
        }
        return response;
    }

    [Requires(Resources.Device, "list")]
    public override async Task<ListDevicesResponse> ListDevices(ListDevicesRequest request, ServerCallContext context)
    {
        if (request.PageSize is < 0 or > DeviceInventoryQuery.MaxPageSize)
        {
            throw DeviceTrustException.InvalidArgument($"page_size must be between 0 and {DeviceInventoryQuery.MaxPageSize}");
        }
        var (devices, next) = await inventory.ListAsync(request.PageSize == 0 ? 100 : request.PageSize, request.PageToken, context.CancellationToken);
        var response = new ListDevicesResponse { NextPageToken = next };
        response.Devices.AddRange(devices.Select(DeviceMapping.ToProto));
        return response;
    }

    public override async Task<ListDevicesResponse> ListMyDevices(ListMyDevicesRequest request, ServerCallContext context)
    {
        var response = new ListDevicesResponse();
        response.Devices.AddRange((await inventory.OwnedByAsync(Caller.Of(context).Name, context.CancellationToken)).Select(DeviceMapping.ToProto));
        return response;
    }

    [Requires(Resources.Device, "delete")]
    public override async Task<DeleteDeviceResponse> DeleteDevice(DeleteDeviceRequest request, ServerCallContext context)
    {
        var caller = Caller.Of(context);
        var id = DeviceFields.DeviceId(request.DeviceId);
        var removed = await grains.GetGrain<IDeviceGrain>(id).DeleteAsync();
        // If this stops half-way, the tag points at a device that is gone and the next creation takes it over.
        await grains.GetGrain<IAssetTagGrain>(removed.AssetTagKey).ReleaseAsync(id);
        var record = audit.Begin("device.delete", context, caller.Name);
        Fill(record, removed);
        await record.SucceededAsync($"device {removed.AssetTag}/{removed.OsType.ToText()} removed from the inventory");
        return new DeleteDeviceResponse();
    }

    [Requires(Resources.Device, "update")]
    public override async Task<Device> UpdateDevice(UpdateDeviceRequest request, ServerCallContext context)
    {
        var caller = Caller.Of(context);
        var id = DeviceFields.DeviceId(request.DeviceId);
        var profile = DeviceMapping.FromProto(request.Profile, time.GetUtcNow());
        if (!request.Unenroll && profile is null)
        {
            throw DeviceTrustException.InvalidArgument("nothing to update: set unenroll or profile");
        }
        var device = await grains.GetGrain<IDeviceGrain>(id).UpdateAsync(request.Unenroll, profile);
        var record = audit.Begin("device.update", context, caller.Name);
        Fill(record, device);
        await record.SucceededAsync(request.Unenroll ? "device unenrolled" : "device profile updated");
        return DeviceMapping.ToProto(device);
    }

    [Requires(Resources.Device, "create_enroll_token")]
    public override async Task<DeviceEnrollToken> CreateDeviceEnrollToken(CreateDeviceEnrollTokenRequest request, ServerCallContext context)
    {
        var id = DeviceFields.DeviceId(request.DeviceId);
        var ttl = ProtoMapping.Ttl(request.Ttl, NewInvitation.DefaultTtl, TimeSpan.FromDays(7), "ttl");
        var device = await grains.GetGrain<IDeviceGrain>(id).EnsureEnrollableAsync();
        if (request.DeviceData is not null)
        {
            DeviceChecks.EnsureMatchesInventory(device, DeviceMapping.FromProto(request.DeviceData, time.GetUtcNow()));
        }
        return await MintTokenAsync(device, ttl, context);
    }

    public override Task EnrollDevice(IAsyncStreamReader<EnrollDeviceRequest> requestStream, IServerStreamWriter<EnrollDeviceResponse> responseStream,
        ServerCallContext context) => enrollment.RunAsync(requestStream, responseStream, context);

    public override Task AuthenticateDevice(IAsyncStreamReader<AuthenticateDeviceRequest> requestStream,
        IServerStreamWriter<AuthenticateDeviceResponse> responseStream, ServerCallContext context) =>
        authentication.RunAsync(requestStream, responseStream, context);

    private async Task<DeviceEnrollToken> MintTokenAsync(DeviceRecord device, TimeSpan ttl, ServerCallContext context)
    {
        var caller = Caller.Of(context);
        var token = SecretToken.New();
        var expires = time.GetUtcNow() + ttl;
        await grains.GetGrain<IEnrollTokenGrain>(SecretToken.HashHex(token)).CreateAsync(device.Id, expires, caller.Name, autoEnroll: false);
        var record = audit.Begin("device.token.create", context, caller.Name);
        Fill(record, device);
        await record.SucceededAsync($"enrollment token created, expires {expires:u}");
        return new DeviceEnrollToken { Token = token, ExpireTime = Timestamp.FromDateTimeOffset(expires) };
    }

    private static void Fill(AuditRecord record, DeviceRecord device)
    {
        record.DeviceId = device.Id.ToString();
        record.AssetTag = device.AssetTag;
        record.OsType = device.OsType.ToText();
        record.CredentialId = device.Credential?.Id ?? "";
    }
}
