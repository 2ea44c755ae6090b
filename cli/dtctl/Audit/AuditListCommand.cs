using System.CommandLine;
using DeviceTrust.Client.Output;
using DeviceTrust.Client.Profiles;
using DeviceTrust.Core.Errors;
using DeviceTrust.Proto.V1;
using Google.Protobuf.WellKnownTypes;

namespace DeviceTrust.Cli.Dtctl.Audit;

/// <summary><c>dtctl audit ls [--since 1h] [--type device.enroll] [--format json]</c>: oldest first.</summary>
public static class AuditListCommand
{
    public static Command Create(ProfileStore store)
    {
        var since = new Option<string>("--since") { Description = "How far back, e.g. 1h or 7d", DefaultValueFactory = _ => "24h" };
        var type = new Option<string?>("--type") { Description = "Only events of this type, e.g. device.enroll" };
        var format = Formats.Option();
        var command = new Command("ls", "List audit events") { since, type, format };
        command.SetAction((result, cancellationToken) => CliRunner.RunAsync(async () =>
        {
            var json = Formats.IsJson(result.GetValue(format)!);
            var sinceText = result.GetValue(since)!;
            if (!Durations.TryParse(sinceText, out var back))
            {
                throw DeviceTrustException.InvalidArgument($"--since \"{sinceText}\" is not a duration like 1h");
            }
            using var client = AdminClient.Open(store);
            var events = new List<AuditEvent>();
            var page = "";
            do
            {
                var response = await client.Audit.ListAuditEventsAsync(new ListAuditEventsRequest
                {
                    Since = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow - back),
                    Type = result.GetValue(type) ?? "",
                    PageSize = 1000,
                    PageToken = page,
                }, cancellationToken: cancellationToken);
                events.AddRange(response.Events);
                page = response.NextPageToken;
            }
            while (page.Length > 0);
            if (json)
            {
                Console.Write(Formats.Json(events.Cast<Google.Protobuf.IMessage>()));
                return 0;
            }
            var table = new Table("Time", "Type", "Result", "User", "Asset Tag", "Device ID", "Client IP", "Message");
            foreach (var e in events)
            {
                table.Add(e.Time.ToDateTimeOffset().ToString("u", System.Globalization.CultureInfo.InvariantCulture), e.Type,
                    e.Success ? "success" : "failure", e.User, e.AssetTag, e.DeviceId, e.ClientIp, e.Message);
            }
            Console.Write(table);
            return 0;
        }));
        return command;
    }
}
