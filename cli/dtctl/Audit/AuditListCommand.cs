using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using DeviceTrust.Client.Output;
using DeviceTrust.Client.Profiles;
using DeviceTrust.Core.Errors;
using DeviceTrust.Proto.V1;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

namespace DeviceTrust.Cli.Dtctl.Audit;

/// <summary>
/// <c>dtctl audit ls [--since 1h] [--until T] [--type user.*] [--user bob] [--device X] [--result failure] [-o json]</c>:
/// oldest first. <c>-o json</c> prints one JSON object per line (JSON lines), for SIEM pipelines.
/// </summary>
public static class AuditListCommand
{
    private static readonly JsonFormatter Formatter = new(JsonFormatter.Settings.Default.WithFormatDefaultValues(true));
    private static readonly System.Text.Json.JsonSerializerOptions LineOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static Command Create(ProfileStore store)
    {
        var since = new Option<string>("--since") { Description = "From when: a duration back (1h, 7d) or a time (2026-12-01T08:00:00Z)", DefaultValueFactory = _ => "24h" };
        var until = new Option<string?>("--until") { Description = "Up to when: a duration back or a time (default: now)" };
        var type = new Option<string?>("--type", "--code") { Description = "Only events with this code (device.enroll), or a prefix ending in * (user.*)" };
        var user = new Option<string?>("--user") { Description = "Only events by or about this user" };
        var device = new Option<string?>("--device") { Description = "Only events about this device (its id or asset tag)" };
        var outcome = new Option<string?>("--result") { Description = "success or failure" };
        var format = Formats.Option();
        var command = new Command("ls", "List audit events") { since, until, type, user, device, outcome, format };
        command.SetAction((result, cancellationToken) => CliRunner.RunAsync(async () =>
        {
            var json = Formats.IsJson(result.GetValue(format)!);
            var now = DateTimeOffset.UtcNow;
            var request = new ListAuditEventsRequest
            {
                Since = Timestamp.FromDateTimeOffset(Time(result.GetValue(since)!, "--since", now)),
                Until = result.GetValue(until) is { } to ? Timestamp.FromDateTimeOffset(Time(to, "--until", now)) : null,
                Type = result.GetValue(type) ?? "",
                User = result.GetValue(user) ?? "",
                Device = result.GetValue(device) ?? "",
                Result = result.GetValue(outcome) switch
                {
                    null => AuditResult.Any,
                    "success" => AuditResult.Success,
                    "failure" => AuditResult.Failure,
                    var other => throw DeviceTrustException.InvalidArgument($"--result \"{other}\" is unknown: use success or failure"),
                },
                PageSize = 1000,
            };
            using var client = AdminClient.Open(store);
            var table = new Table("Time", "Type", "Result", "User", "Asset Tag", "Device ID", "Client IP", "Message");
            do
            {
                var response = await client.Audit.ListAuditEventsAsync(request, cancellationToken: cancellationToken);
                foreach (var e in response.Events)
                {
                    if (json)
                    {
                        Console.WriteLine(JsonLine(e));
                    }
                    else
                    {
                        table.Add(e.Time.ToDateTimeOffset().ToString("u", CultureInfo.InvariantCulture), e.Type, e.Success ? "success" : "failure",
                            e.User, e.AssetTag, e.DeviceId, e.ClientIp, e.Message);
                    }
                }
                request.PageToken = response.NextPageToken;
            }
            while (request.PageToken.Length > 0);
            if (!json)
            {
                Console.Write(table);
            }
            return 0;
        }));
        return command;
    }

    /// <summary>One event as one line of JSON, with its details as an object rather than a string of JSON.</summary>
    public static string JsonLine(AuditEvent e)
    {
        var node = JsonNode.Parse(Formatter.Format(e))!.AsObject();
        node["details"] = e.Details.Length > 0 ? JsonNode.Parse(e.Details) : new JsonObject();
        return node.ToJsonString(LineOptions);
    }

    private static DateTimeOffset Time(string text, string option, DateTimeOffset now)
    {
        if (Durations.TryParse(text, out var back))
        {
            return now - back;
        }
        return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var at)
            ? at
            : throw DeviceTrustException.InvalidArgument($"{option} \"{text}\" is neither a duration like 1h nor a time like 2026-12-01T08:00:00Z");
    }
}
