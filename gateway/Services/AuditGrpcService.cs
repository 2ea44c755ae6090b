using System.Globalization;
using DeviceTrust.Core.Audit;
using DeviceTrust.Core.Devices;
using DeviceTrust.Core.Errors;
using DeviceTrust.Core.Roles;
using DeviceTrust.Gateway.Authentication;
using DeviceTrust.Grains.ReadModels;
using DeviceTrust.Proto.V1;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace DeviceTrust.Gateway.Services;

public sealed class AuditGrpcService(IAuditLog log) : AuditService.AuditServiceBase
{
    [Requires(Resources.Audit, "list")]
    [Audited(AuditCodes.AuditList, Reads = true)]
    public override async Task<ListAuditEventsResponse> ListAuditEvents(ListAuditEventsRequest request, ServerCallContext context)
    {
        if (request.PageSize is < 0 or > IAuditLog.MaxPageSize)
        {
            throw DeviceTrustException.InvalidArgument($"page_size must be between 0 and {IAuditLog.MaxPageSize}");
        }
        if (request.Type.Length > 0 && !AuditQuery.IsTypeFilter(request.Type))
        {
            throw DeviceTrustException.InvalidArgument(AuditQuery.TypeFilterRule);
        }
        long after = 0;
        if (request.PageToken.Length > 0 && (!long.TryParse(request.PageToken, NumberStyles.None, CultureInfo.InvariantCulture, out after)))
        {
            throw DeviceTrustException.InvalidArgument("page_token is not one this server returned");
        }
        var user = DeviceFields.Text(request.User, "user");
        var device = DeviceFields.Text(request.Device, "device");
        bool? success = request.Result switch
        {
            AuditResult.Any => null,
            AuditResult.Success => true,
            AuditResult.Failure => false,
            _ => throw DeviceTrustException.InvalidArgument($"unknown result {(int)request.Result}: use success or failure"),
        };
        var since = request.Since is { } from ? ProtoMapping.Time(from, "since") : DateTimeOffset.MinValue;
        DateTimeOffset? until = request.Until is { } to ? ProtoMapping.Time(to, "until") : null;
        var size = request.PageSize == 0 ? 200 : request.PageSize;
        var type = request.Type == "*" ? null : request.Type;
        var entries = await log.ListAsync(new AuditQuery(since, until, type, user, device, success, after, size + 1), context.CancellationToken);
        var response = new ListAuditEventsResponse();
        response.Events.AddRange(entries.Take(size).Select(e => new AuditEvent
        {
            Id = e.Id,
            Time = Timestamp.FromDateTimeOffset(e.Time),
            Type = e.Type,
            Success = e.Success,
            User = e.User,
            DeviceId = e.DeviceId,
            AssetTag = e.AssetTag,
            OsType = e.OsType,
            CredentialId = e.CredentialId,
            ClientIp = e.ClientIp,
            Message = e.Message,
            UserId = e.UserId,
            Target = e.Target,
            Status = e.Status,
            Details = e.Details,
        }));
        if (entries.Count > size)
        {
            response.NextPageToken = entries[size - 1].Id.ToString(CultureInfo.InvariantCulture);
        }
        return response;
    }
}
