using System.Globalization;
using DeviceTrust.Core.Errors;
using DeviceTrust.Core.Roles;
using DeviceTrust.Gateway.Authentication;
using DeviceTrust.Proto.V1;
using DeviceTrust.Silo.Database;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace DeviceTrust.Gateway.Services;

public sealed class AuditGrpcService(AuditLog log) : AuditService.AuditServiceBase
{
    [Requires(Resources.Audit, "list")]
    public override async Task<ListAuditEventsResponse> ListAuditEvents(ListAuditEventsRequest request, ServerCallContext context)
    {
        if (request.PageSize is < 0 or > AuditLog.MaxPageSize)
        {
            throw DeviceTrustException.InvalidArgument($"page_size must be between 0 and {AuditLog.MaxPageSize}");
        }
        if (request.Type.Length > 64)
        {
            throw DeviceTrustException.InvalidArgument("type is longer than 64 characters");
        }
        long after = 0;
        if (request.PageToken.Length > 0 && (!long.TryParse(request.PageToken, NumberStyles.None, CultureInfo.InvariantCulture, out after)))
        {
            throw DeviceTrustException.InvalidArgument("page_token is not one this server returned");
        }
        var size = request.PageSize == 0 ? 200 : request.PageSize;
        var since = request.Since?.ToDateTimeOffset() ?? DateTimeOffset.MinValue;
        var entries = await log.ListAsync(since, request.Type, after, size + 1, context.CancellationToken);
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
        }));
        if (entries.Count > size)
        {
            response.NextPageToken = entries[size - 1].Id.ToString(CultureInfo.InvariantCulture);
        }
        return response;
    }
}
