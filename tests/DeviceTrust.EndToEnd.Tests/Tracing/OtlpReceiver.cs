using System.Net;
using DeviceTrust.EndToEnd.Tests.Tracing.Otlp;
using DeviceTrust.Testing;

namespace DeviceTrust.EndToEnd.Tests.Tracing;

/// <summary>One span as a collector received it, with the service and instrumentation scope that sent it.</summary>
public sealed record ReceivedSpan(string Service, string Scope, string TraceId, string SpanId, string ParentSpanId, string Name, int Kind,
    IReadOnlyDictionary<string, string> Attributes);

/// <summary>
/// An OpenTelemetry collector's OTLP/HTTP endpoint on a loopback port: the processes under test export to it exactly
/// as they would to a real collector (protobuf over HTTP), and the test reads what arrived. Metrics and logs posts are
/// accepted and dropped.
/// </summary>
public sealed class OtlpReceiver : IDisposable
{
    private const int MaxBody = 16 * 1024 * 1024;
    private readonly HttpListener _listener = new();
    private readonly List<ReceivedSpan> _spans = [];
    private readonly Task _serving;

    public OtlpReceiver()
    {
        var port = FreePort.Next();
        Endpoint = $"http://127.0.0.1:{port}";
        _listener.Prefixes.Add(Endpoint + "/");
        _listener.Start();
        _serving = ServeAsync();
    }

    /// <summary>The value for <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> (with <c>OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf</c>).</summary>
    public string Endpoint { get; }

    public IReadOnlyList<ReceivedSpan> Spans
    {
        get
        {
            lock (_spans)
            {
                return [.. _spans];
            }
        }
    }

    /// <summary>
    /// Each request on its own task: the gateway, its silo and dtsh export side by side, and on a loaded machine a
    /// request waiting behind another past the exporter's timeout would be dropped, with its spans.
    /// </summary>
    private async Task ServeAsync()
    {
        var inFlight = new List<Task>();
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                break;
            }
            inFlight.RemoveAll(t => t.IsCompleted);
            inFlight.Add(Task.Run(() => AnswerAsync(context)));
        }
        await Task.WhenAll(inFlight);
    }

    private async Task AnswerAsync(HttpListenerContext context)
    {
        try
        {
            using var response = context.Response;
            using var body = new MemoryStream();
            await context.Request.InputStream.CopyToAsync(body);
            if (body.Length > MaxBody)
            {
                response.StatusCode = 413;
                return;
            }
            if (context.Request.Url?.AbsolutePath == "/v1/traces")
            {
                Add(ExportTraceServiceRequest.Parser.ParseFrom(body.ToArray()));
            }
            response.StatusCode = 200;
            response.ContentType = "application/x-protobuf";
        }
        catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or IOException)
        {
            // The exporter gave up on this request, or the receiver is closing.
        }
    }

    private void Add(ExportTraceServiceRequest request)
    {
        var received = new List<ReceivedSpan>();
        foreach (var resource in request.ResourceSpans)
        {
            var service = resource.Resource?.Attributes.FirstOrDefault(a => a.Key == "service.name")?.Value.StringValue ?? "";
            foreach (var scope in resource.ScopeSpans)
            {
                received.AddRange(scope.Spans.Select(span => new ReceivedSpan(service, scope.Scope?.Name ?? "", Convert.ToHexStringLower(span.TraceId.Span),
                    Convert.ToHexStringLower(span.SpanId.Span), Convert.ToHexStringLower(span.ParentSpanId.Span), span.Name, span.Kind,
                    span.Attributes.GroupBy(a => a.Key).ToDictionary(g => g.Key, g => Text(g.First().Value)))));
            }
        }
        lock (_spans)
        {
            _spans.AddRange(received);
        }
    }

    private static string Text(AnyValue? value) => value?.ValueCase switch
    {
        AnyValue.ValueOneofCase.StringValue => value.StringValue,
        AnyValue.ValueOneofCase.BoolValue => value.BoolValue ? "true" : "false",
        AnyValue.ValueOneofCase.IntValue => value.IntValue.ToString(System.Globalization.CultureInfo.InvariantCulture),
        AnyValue.ValueOneofCase.DoubleValue => value.DoubleValue.ToString(System.Globalization.CultureInfo.InvariantCulture),
        AnyValue.ValueOneofCase.BytesValue => Convert.ToHexStringLower(value.BytesValue.Span),
        _ => "",
    };

    public void Dispose()
    {
        _listener.Stop();
        _listener.Close();
        _serving.Wait(TimeSpan.FromSeconds(5));
    }
}
