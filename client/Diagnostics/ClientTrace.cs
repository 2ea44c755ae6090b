using System.Diagnostics;
using System.Globalization;
using OpenTelemetry;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace DeviceTrust.Client.Diagnostics;

/// <summary>
/// Where a command spent its time: while a <see cref="ClientTrace"/> is open, the command's own steps
/// (<see cref="Source"/>), every HTTP/2 call to a gateway and its connection set-up are recorded as one trace, whose
/// context goes to the gateway with each call (W3C <c>traceparent</c>) so the gateway's, the grains' and the
/// database's spans join it. On <see cref="Dispose"/> the trace is printed as a tree, and, when the standard
/// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set, sent to that collector too.
/// </summary>
public sealed class ClientTrace : IDisposable
{
    public const string SourceName = "DeviceTrust.Client";

    /// <summary>The environment variable that turns tracing on for every command, like <c>--trace</c>.</summary>
    public const string EnvironmentVariable = "DTSH_TRACE";

    public static readonly ActivitySource Source = new(SourceName);

    /// <summary>What gRPC and .NET record for a call, its HTTP request and opening a connection (DNS, TCP, TLS).</summary>
    private static readonly string[] NetworkSources =
    [
        "Grpc.Net.Client", "System.Net.Http", "Experimental.System.Net.Http.Connections", "Experimental.System.Net.NameResolution",
        "Experimental.System.Net.Sockets", "Experimental.System.Net.Security",
    ];

    private readonly TracerProvider _provider;
    private readonly List<Activity> _finished;
    private readonly Activity? _root;
    private readonly TextWriter _output;
    private readonly string? _exportedTo;

    private ClientTrace(string service, string name, TextWriter output)
    {
        _output = output;
        _finished = [];
        var builder = Sdk.CreateTracerProviderBuilder()
            .ConfigureResource(r => r.AddService(service))
            .AddSource(SourceName)
            .AddSource(NetworkSources)
            .SetSampler(new AlwaysOnSampler())
            .AddProcessor(new SimpleActivityExportProcessor(new Collector(_finished)));
        _exportedTo = Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") is { Length: > 0 } traces ? traces
            : Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_ENDPOINT") is { Length: > 0 } endpoint ? endpoint : null;
        if (_exportedTo is not null)
        {
            builder.AddOtlpExporter();
        }
        _provider = builder.Build();
        _root = Source.StartActivity(name, ActivityKind.Internal);
    }

    /// <summary>Whether tracing was asked for: the option, or <see cref="EnvironmentVariable"/> set to 1 or true.</summary>
    public static bool Requested(bool option) =>
        option || Environment.GetEnvironmentVariable(EnvironmentVariable) is { } value
        && (value == "1" || value.Equals("true", StringComparison.OrdinalIgnoreCase));

    /// <summary>Opens the trace of one command (<paramref name="name"/>, e.g. "dtsh login"), printed to <paramref name="output"/>.</summary>
    public static ClientTrace Start(string service, string name, TextWriter output) => new(service, name, output);

    public string TraceId => _root?.TraceId.ToHexString() ?? "";

    public void Dispose()
    {
        _root?.Stop();
        // Spans of calls still running (a stream the command abandoned) are not waited for.
        _provider.ForceFlush(5000);
        _provider.Dispose();
        Print();
    }

    private void Print()
    {
        List<Activity> spans;
        lock (_finished)
        {
            spans = [.. _finished.OrderBy(a => a.StartTimeUtc)];
        }
        if (_root is null)
        {
            return;
        }
        var start = _root.StartTimeUtc;
        var children = spans.ToLookup(a => a.ParentSpanId);
        _output.WriteLine($"trace {TraceId}: {_root.DisplayName} took {Milliseconds(_root.Duration)}");
        _output.WriteLine("     start    duration  step");
        void Write(Activity span, int depth)
        {
            var status = span.Status == ActivityStatusCode.Error ? $"  failed{(span.StatusDescription is { Length: > 0 } d ? ": " + d : "")}" : "";
            _output.WriteLine($"{Milliseconds(span.StartTimeUtc - start),10}  {Milliseconds(span.Duration),10}  {new string(' ', 2 * depth)}{Describe(span)}{status}");
            foreach (var child in children[span.SpanId])
            {
                Write(child, depth + 1);
            }
        }
        // The command's steps, and the connections it opened (.NET records each connection's set-up as a trace of
        // its own, linked to the call that waited for it).
        var known = spans.Select(a => a.SpanId).ToHashSet();
        foreach (var top in spans.Where(a => a != _root && (a.ParentSpanId == _root.SpanId || !known.Contains(a.ParentSpanId))))
        {
            Write(top, 0);
        }
        _output.WriteLine(_exportedTo is null
            ? "The gateway's and the cluster's spans carry the same trace id: set OTEL_EXPORTER_OTLP_ENDPOINT to send this trace to your collector and see them beside these."
            : $"Sent to {_exportedTo} (OTLP), where the gateway's and the cluster's spans join it.");
    }

    /// <summary>A gRPC call by its method and status, an HTTP request by its method and path, anything else by its name.</summary>
    private static string Describe(Activity span)
    {
        if (span.GetTagItem("grpc.method") is string method)
        {
            var code = span.GetTagItem("grpc.status_code") is string number && int.TryParse(number, CultureInfo.InvariantCulture, out var parsed)
                ? $" → {(Grpc.Core.StatusCode)parsed}" : "";
            return $"gRPC {method}{code}";
        }
        if (span.GetTagItem("url.full") is string url && Uri.TryCreate(url, UriKind.Absolute, out var uri))
        {
            var status = span.GetTagItem("http.response.status_code") is { } code ? $" → HTTP {code}" : "";
            return $"{span.GetTagItem("http.request.method") ?? "HTTP"} {uri.AbsolutePath}{status}";
        }
        return span.DisplayName;
    }

    private static string Milliseconds(TimeSpan time) => $"{time.TotalMilliseconds.ToString("F1", CultureInfo.InvariantCulture)} ms";

    /// <summary>Keeps every finished span in memory for the printout (a command makes a few dozen).</summary>
    private sealed class Collector(List<Activity> finished) : BaseExporter<Activity>
    {
        public override ExportResult Export(in Batch<Activity> batch)
        {
            lock (finished)
            {
                foreach (var activity in batch)
                {
                    if (finished.Count < 10_000)
                    {
                        finished.Add(activity);
                    }
                }
            }
            return ExportResult.Success;
        }
    }
}
