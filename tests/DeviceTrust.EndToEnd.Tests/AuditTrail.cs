using DeviceTrust.Proto.V1;
using Grpc.Core;
using Grpc.Net.Client;

namespace DeviceTrust.EndToEnd.Tests;

/// <summary>Reads the audit log through the real gateway, as an auditor would, to check what a call left behind.</summary>
public static class AuditTrail
{
    public static async Task<List<AuditEvent>> EventsAsync(GrpcChannel auditor, string type, DateTimeOffset? since = null, string user = "", string device = "")
    {
        var client = new AuditService.AuditServiceClient(auditor);
        var request = new ListAuditEventsRequest
        {
            Type = type,
            User = user,
            Device = device,
            PageSize = 1000,
            Since = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(since ?? DateTimeOffset.UtcNow.AddHours(-1)),
        };
        var all = new List<AuditEvent>();
        do
        {
            var page = await client.ListAuditEventsAsync(request);
            all.AddRange(page.Events);
            request.PageToken = page.NextPageToken;
        }
        while (request.PageToken.Length > 0);
        return all;
    }

    /// <summary>The newest event of <paramref name="type"/> that matches; fails the test when there is none.</summary>
    public static async Task<AuditEvent> LastAsync(GrpcChannel auditor, string type, Func<AuditEvent, bool> match)
    {
        var events = await EventsAsync(auditor, type);
        return events.LastOrDefault(match) ?? throw new Xunit.Sdk.XunitException($"no {type} event matches; the last ones: {string.Join("\n", events.TakeLast(5))}");
    }

    /// <summary>
    /// The same, waiting a little: for events a gateway writes after it has answered (a ceremony the client
    /// abandoned, a sampled summary at the end of its window).
    /// </summary>
    public static async Task<AuditEvent> EventuallyAsync(GrpcChannel auditor, string type, Func<AuditEvent, bool> match, TimeSpan? within = null)
    {
        var deadline = DateTime.UtcNow + (within ?? TimeSpan.FromSeconds(15));
        while (true)
        {
            if ((await EventsAsync(auditor, type)).LastOrDefault(match) is { } found)
            {
                return found;
            }
            if (DateTime.UtcNow > deadline)
            {
                return await LastAsync(auditor, type, match);
            }
            await Task.Delay(200);
        }
    }

    /// <summary>A refusal, as the audit log must show it: not a success, the status, the reason.</summary>
    public static void IsRefusal(AuditEvent e, StatusCode status, string reason)
    {
        Assert.False(e.Success, e.ToString());
        Assert.Equal(status.ToString(), e.Status);
        Assert.Equal(reason, e.Message);
    }
}

public static class Refusals
{
    /// <summary>The call's refusal: fails the test when it succeeds.</summary>
    public static async Task<RpcException> Of(Func<Task> call) => await Assert.ThrowsAsync<RpcException>(call);

    public static void Is(StatusCode status, string detail, RpcException error)
    {
        Assert.Equal(detail, error.Status.Detail);
        Assert.Equal(status, error.StatusCode);
    }
}
