using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using DeviceTrust.Client.Profiles;

namespace DeviceTrust.EndToEnd.Tests;

/// <summary>
/// The Prometheus text exposition format (version 0.0.4), read strictly: every sample belongs to a family announced
/// by a <c># TYPE</c> line, names and labels are well formed, values are numbers. A line that is none of these fails.
/// </summary>
public sealed partial class PrometheusText
{
    private readonly List<(string Name, IReadOnlyDictionary<string, string> Labels, double Value)> _samples = [];
    private readonly Dictionary<string, string> _types = new(StringComparer.Ordinal);

    public IReadOnlyDictionary<string, string> Types => _types;

    [GeneratedRegex("""^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>[^}]*)\})? (?<value>\S+)( -?\d+)?$""")]
    private static partial Regex Sample();

    [GeneratedRegex("""\G(?<key>[a-zA-Z_][a-zA-Z0-9_]*)="(?<value>(\\.|[^"\\])*)"(,|$)""")]
    private static partial Regex Label();

    [GeneratedRegex("""^# TYPE (?<name>[a-zA-Z_:][a-zA-Z0-9_:]*) (?<type>counter|gauge|histogram|summary|untyped)$""")]
    private static partial Regex Type();

    public static PrometheusText Parse(string text)
    {
        var parsed = new PrometheusText();
        foreach (var (line, number) in text.Split('\n').Select((l, i) => (l, i + 1)))
        {
            if (line.Length == 0 || (line.StartsWith("# HELP ", StringComparison.Ordinal)) || line == "# EOF")
            {
                continue;
            }
            if (Type().Match(line) is { Success: true } type)
            {
                Assert.True(parsed._types.TryAdd(type.Groups["name"].Value, type.Groups["type"].Value), $"line {number}: a second TYPE for {type.Groups["name"].Value}");
                continue;
            }
            var sample = Sample().Match(line);
            Assert.True(sample.Success, $"line {number} is not a sample: {line}");
            var name = sample.Groups["name"].Value;
            Assert.True(parsed._types.ContainsKey(name) || parsed._types.Keys.Any(f => name.StartsWith(f + "_", StringComparison.Ordinal)),
                $"line {number}: {name} has no TYPE line before it");
            var labels = new Dictionary<string, string>(StringComparer.Ordinal);
            var body = sample.Groups["labels"].Value;
            for (var at = 0; at < body.Length;)
            {
                var label = Label().Match(body, at);
                Assert.True(label.Success, $"line {number}: malformed labels at {at}: {body}");
                Assert.True(labels.TryAdd(label.Groups["key"].Value, label.Groups["value"].Value), $"line {number}: label {label.Groups["key"].Value} twice");
                at = label.Index + label.Length;
            }
            var value = sample.Groups["value"].Value;
            Assert.True(value is "+Inf" or "-Inf" or "NaN" || double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out _), $"line {number}: value {value}");
            parsed._samples.Add((name, labels, value switch
            {
                "+Inf" => double.PositiveInfinity,
                "-Inf" => double.NegativeInfinity,
                "NaN" => double.NaN,
                _ => double.Parse(value, CultureInfo.InvariantCulture),
            }));
        }
        return parsed;
    }

    /// <summary>The sum of the samples named <paramref name="name"/> whose labels include <paramref name="labels"/> (0 when none).</summary>
    public double Value(string name, params (string Key, string Value)[] labels) =>
        _samples.Where(s => s.Name == name && labels.All(l => s.Labels.GetValueOrDefault(l.Key) == l.Value)).Sum(s => s.Value);

    public bool Has(string name) => _samples.Any(s => s.Name == name);
}

[Collection(PostgresGatewayCollection.Name)]
public sealed class MetricsTests(PostgresGateway cluster)
{
    private HttpClient Scraper() => new() { BaseAddress = new Uri($"http://127.0.0.1:{cluster.Gateway.MetricsPort}") };

    private async Task<PrometheusText> ScrapeAsync()
    {
        using var http = Scraper();
        using var answer = await http.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        Assert.StartsWith("text/plain", answer.Content.Headers.ContentType?.MediaType, StringComparison.Ordinal);
        return PrometheusText.Parse(await answer.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task An_enrollment_and_a_refused_login_move_their_metrics_in_prometheus_text_on_a_port_of_their_own()
    {
        var before = await ScrapeAsync();

        var (name, cli, _) = await cluster.NewUserAsync("access");
        var serial = "M" + Guid.NewGuid().ToString("N")[..11].ToUpperInvariant();
        var added = (await cluster.Admin.Dtctl("devices", "add", "--os", "linux", "--asset-tag", serial, "--enroll")).Succeeded().StdOut;
        var token = added.Split('\n').Single(l => l.StartsWith("dtsh device enroll --token=", StringComparison.Ordinal))["dtsh device enroll --token=".Length..].Trim();
        var data = cluster.Path($"device-{serial}.json");
        await File.WriteAllTextAsync(data, $$"""{ "serialNumber": "{{serial}}", "osVersion": "12", "modelIdentifier": "TestBook1,1" }""");
        (await cli.With("DTSH_DEVICE_DATA", data).Dtsh("device", "enroll", "--token=" + token, "--software-key")).Succeeded();
        (await cli.With("DTSH_DEVICE_DATA", data).Dtsh("device", "authenticate")).Succeeded();
        (await cli.DtshWithInput("not the password\n", "login", "--user", name)).FailedWith("invalid user name or password");
        // an access decision, and a call refused before its method ran (no client certificate)
        var profile = new ProfileStore(cluster.Admin.Home).Load()!;
        using (var admin = Client.Connection.GatewayChannel.ForProfile(profile))
        {
            await new Proto.V1.AccessService.AccessServiceClient(admin).CheckAccessAsync(new Proto.V1.CheckAccessRequest
            {
                User = name,
                Resource = new Proto.V1.AccessResource { Kind = "app", Name = "wiki" },
            });
        }
        using (var anonymous = Client.Connection.GatewayChannel.Create(profile.Proxy, profile.Ca, null))
        {
            var refused = await Assert.ThrowsAsync<Grpc.Core.RpcException>(async () =>
                await new Proto.V1.DeviceTrustService.DeviceTrustServiceClient(anonymous).ListDevicesAsync(new Proto.V1.ListDevicesRequest()));
            Assert.Equal(Grpc.Core.StatusCode.Unauthenticated, refused.StatusCode);
        }

        var after = await ScrapeAsync();
        double Moved(string metric, params (string, string)[] labels) => after.Value(metric, labels) - before.Value(metric, labels);
        Assert.Equal("histogram", after.Types["devicetrust_enroll_seconds"]);
        Assert.Equal(1, Moved("devicetrust_enroll_seconds_count", ("result", "ok"), ("attestation", "unspecified")));
        Assert.Equal(1, Moved("devicetrust_authenticate_seconds_count", ("result", "ok"), ("attestation", "unspecified")));
        Assert.Equal(1, Moved("devicetrust_tokens_total", ("kind", "enroll")));
        Assert.Equal(1, Moved("devicetrust_login_refusals_total", ("reason", "wrong_password")));
        Assert.Equal(1, Moved("devicetrust_operation_seconds_count", ("code", "device.enroll"), ("result", "ok")));
        Assert.Equal(1, Moved("devicetrust_operation_seconds_count", ("code", "user.login"), ("result", "Unauthenticated")));
        Assert.Equal(1, Moved("devicetrust_operation_seconds_bucket", ("code", "device.enroll"), ("result", "ok"), ("le", "+Inf")));
        Assert.True(after.Has("devicetrust_locks"), "locks in force");
        Assert.True(after.Has("devicetrust_policy_snapshot_age_seconds"), "snapshot staleness");
        // and the framework's meters: ASP.NET Core, the runtime, Orleans, Npgsql (this gateway's silo stores in PostgreSQL)
        foreach (var family in new[] { "http_server_request_duration_seconds", "dotnet_gc_collections_total", "orleans_", "db_client_" })
        {
            Assert.True(after.Types.Keys.Any(k => k.StartsWith(family, StringComparison.Ordinal)), $"no {family}* family in {string.Join(", ", after.Types.Keys)}");
        }

        // Every metric the alert rules and the dashboard in k8s/monitoring name is one the gateway serves.
        var monitoring = Path.Combine(Binaries.RepositoryRoot, "k8s", "monitoring");
        var rules = new YamlDotNet.RepresentationModel.YamlStream();
        rules.Load(new StringReader(await File.ReadAllTextAsync(Path.Combine(monitoring, "devicetrust-alerts.yaml"))));
        var alerts = ((YamlDotNet.RepresentationModel.YamlSequenceNode)((YamlDotNet.RepresentationModel.YamlSequenceNode)rules.Documents[0].RootNode["groups"])[0]["rules"])
            .Cast<YamlDotNet.RepresentationModel.YamlMappingNode>()
            .Select(r => (Name: r["alert"].ToString(), Expr: r["expr"].ToString(), Runbook: r["annotations"]["runbook"].ToString()))
            .ToList();
        using var dashboard = System.Text.Json.JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(monitoring, "devicetrust-dashboard.json")));
        var panels = dashboard.RootElement.GetProperty("panels").EnumerateArray()
            .SelectMany(p => p.GetProperty("targets").EnumerateArray().Select(t => (Name: p.GetProperty("title").GetString()!, Expr: t.GetProperty("expr").GetString()!)))
            .ToList();
        Assert.True(alerts.Count >= 5 && panels.Count >= 10, "the alert rules or the dashboard lost their content");
        var operations = await File.ReadAllTextAsync(Path.Combine(Binaries.RepositoryRoot, "docs", "operations.md"));
        foreach (var (alert, expr, runbook) in alerts.Concat(panels.Select(p => (p.Name, p.Expr, ""))))
        {
            var names = Regex.Matches(expr, @"\b(devicetrust|http_server|orleans|dotnet|db_client)_[a-z0-9_]+\b").Select(m => m.Value).ToList();
            Assert.True(names.Count > 0 || expr.StartsWith("up{", StringComparison.Ordinal), $"{alert}: no metric in {expr}");
            foreach (var metric in names)
            {
                Assert.True(after.Has(metric), $"{alert}: {metric} is not served by the gateway");
            }
            if (runbook.Length > 0)
            {
                // each alert has its section in docs/operations.md, with what it means and what to do
                Assert.Equal($"docs/operations.md#{alert.ToLowerInvariant()}", runbook);
                Assert.Contains($"\n### {alert}\n", operations, StringComparison.Ordinal);
            }
        }

        // The metrics port serves nothing else (it is plain HTTP), and the TLS port does not serve /metrics.
        using (var http = Scraper())
        {
            Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/login")).StatusCode);
            Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/healthz")).StatusCode);
        }
        var ca = new ProfileStore(cluster.Admin.Home).Load()!.Ca;
        using var tls = new HttpClient(new SocketsHttpHandler { SslOptions = ClusterCa.Trusting(ca) }) { BaseAddress = new Uri($"https://{cluster.Gateway.Proxy}") };
        Assert.Equal(HttpStatusCode.NotFound, (await tls.GetAsync("/metrics")).StatusCode);
    }
}
