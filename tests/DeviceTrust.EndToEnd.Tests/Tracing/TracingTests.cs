using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace DeviceTrust.EndToEnd.Tests.Tracing;

/// <summary>A PostgreSQL-backed gateway that exports its traces to an <see cref="OtlpReceiver"/>, as it would to a collector.</summary>
public sealed class TracedGateway() : PostgresGateway("dt-e2e-trace")
{
    public OtlpReceiver Receiver { get; } = new();

    /// <summary>What a process needs to export to <see cref="Receiver"/> quickly (the standard OpenTelemetry variables).</summary>
    public IReadOnlyDictionary<string, string?> Exporting => new Dictionary<string, string?>
    {
        ["OTEL_EXPORTER_OTLP_ENDPOINT"] = Receiver.Endpoint,
        ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
        ["OTEL_BSP_SCHEDULE_DELAY"] = "200",
        // On a loaded CI machine an export may be slow: wait for it, and send a batch again rather than drop it.
        ["OTEL_EXPORTER_OTLP_TIMEOUT"] = "30000",
        ["OTEL_DOTNET_EXPERIMENTAL_OTLP_RETRY"] = "in_memory",
    };

    protected override async Task<IReadOnlyDictionary<string, string?>> MoreEnvironmentAsync() =>
        new Dictionary<string, string?>((await base.MoreEnvironmentAsync()).Concat(Exporting));

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        Receiver.Dispose();
    }
}

public sealed partial class TracingTests(TracedGateway cluster, ITestOutputHelper output) : IClassFixture<TracedGateway>
{
    [Fact]
    public async Task One_trace_runs_from_dtsh_through_the_gateway_and_a_grain_to_the_database_write()
    {
        var user = "t" + Guid.NewGuid().ToString("N")[..10];
        var added = (await cluster.Admin.Dtctl("users", "add", user, "--roles", "access")).Succeeded();
        var invitation = added.StdOut.Split(' ', '\n').Single(w => w.StartsWith("dtinv1.", StringComparison.Ordinal)).Trim();
        var password = "password of " + user;
        var cli = cluster.Exporting.Aggregate(new Cli(cluster.Path(user + "-home")), (c, setting) => c.With(setting.Key, setting.Value));

        // Accepting an invitation stores the user's password hash: a grain state write, i.e. SQL.
        var login = (await cli.DtshWithInput(password + "\n", "login", "--trace", "--proxy", cluster.Gateway.Proxy, "--invite", invitation)).Succeeded();

        output.WriteLine(login.StdErr);
        var printed = TracePrinted().Match(login.StdErr);
        Assert.True(printed.Success, login.StdErr);
        var traceId = printed.Groups[1].Value;
        Assert.Contains("gRPC /devicetrust.v1.AuthService/AcceptInvitation → OK", login.StdErr);
        Assert.Contains("POST /devicetrust.v1.AuthService/AcceptInvitation → HTTP 200", login.StdErr);
        Assert.Contains($"Sent to {cluster.Receiver.Endpoint} (OTLP)", login.StdErr);

        // The chain, child to parent: the SQL the grain's storage ran, a grain call, the gateway's RPC, dtsh's call.
        List<ReceivedSpan>? chain = null;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (chain is null && DateTime.UtcNow < deadline)
        {
            chain = ChainToDatabase(cluster.Receiver.Spans.Where(s => s.TraceId == traceId).ToList());
            if (chain is null)
            {
                await Task.Delay(200);
            }
        }
        var trace = cluster.Receiver.Spans.Where(s => s.TraceId == traceId).ToList();
        Assert.True(chain is not null, "no span chain dtsh → gateway → grain → database in the trace:\n" + string.Join('\n', trace.Select(Describe))
            + $"\n{cluster.Receiver.Spans.Count} spans received in all; Npgsql spans of other traces:\n"
            + string.Join('\n', cluster.Receiver.Spans.Where(s => s.Scope == "Npgsql" && s.TraceId != traceId).TakeLast(10).Select(s => s.TraceId + " " + Describe(s))));
        Assert.Equal("dtsh", chain[^1].Service);
        Assert.Equal("", chain[^1].ParentSpanId);
        Assert.Contains(chain, s => s is { Service: "dtsh", Kind: 3, Scope: "Grpc.Net.Client" });
        Assert.Contains(chain, s => s is { Service: "dtsh", Kind: 3, Scope: "System.Net.Http" });
        var server = Assert.Single(chain, s => s is { Service: "devicetrust-gateway", Kind: 2, Scope: "Microsoft.AspNetCore" });
        Assert.Equal("/devicetrust.v1.AuthService/AcceptInvitation", server.Attributes.GetValueOrDefault("url.path"));
        Assert.Contains(chain, s => s.Scope == "Microsoft.Orleans.Application");
        Assert.Equal("Npgsql", chain[0].Scope);

        // Nothing secret leaves in a span: not the invitation, not the password, not the query's parameters.
        var exported = string.Join('\n', trace.SelectMany(s => s.Attributes.Values.Append(s.Name)));
        Assert.DoesNotContain(invitation, exported);
        Assert.DoesNotContain(password, exported);
        Assert.DoesNotContain(invitation, login.StdErr);
    }

    [Fact]
    public async Task DTSH_TRACE_turns_tracing_on_without_the_option_and_nothing_is_printed_without_either()
    {
        var (_, cli, _) = await cluster.NewUserAsync("access");

        var traced = (await cli.With("DTSH_TRACE", "1").Dtsh("ls")).Succeeded();
        var plain = (await cli.Dtsh("ls")).Succeeded();

        Assert.Matches(TracePrinted(), traced.StdErr);
        Assert.Contains("POST /devicetrust.v1.", traced.StdErr);
        Assert.Contains("set OTEL_EXPORTER_OTLP_ENDPOINT to send this trace", traced.StdErr);
        Assert.DoesNotMatch(TracePrinted(), plain.StdErr);
        Assert.Equal(plain.StdOut, traced.StdOut);
    }

    /// <summary>From an Npgsql span up through its parents to a root, if the trace holds every link of it.</summary>
    private static List<ReceivedSpan>? ChainToDatabase(List<ReceivedSpan> trace)
    {
        var byId = trace.GroupBy(s => s.SpanId).ToDictionary(g => g.Key, g => g.First());
        foreach (var sql in trace.Where(s => s.Scope == "Npgsql"))
        {
            var chain = new List<ReceivedSpan> { sql };
            while (chain[^1].ParentSpanId is { Length: > 0 } parent && byId.TryGetValue(parent, out var next) && chain.Count < 64)
            {
                chain.Add(next);
            }
            if (chain[^1].ParentSpanId == "" && chain.Any(s => s.Service == "dtsh") && chain.Any(s => s.Scope == "Microsoft.Orleans.Application"))
            {
                return chain;
            }
        }
        return null;
    }

    private static string Describe(ReceivedSpan span) =>
        $"{span.Service} {span.Scope} {span.Name} kind {span.Kind} span {span.SpanId} parent {span.ParentSpanId}";

    [GeneratedRegex(@"^trace ([0-9a-f]{32}): dtsh [a-z ]+ took", RegexOptions.Multiline)]
    private static partial Regex TracePrinted();
}
