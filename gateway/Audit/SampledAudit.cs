using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using DeviceTrust.Core.Audit;
using DeviceTrust.Grains.ReadModels;
using Grpc.Core;

namespace DeviceTrust.Gateway.Audit;

/// <summary>
/// Events that can come in floods — refusals before a method runs (no valid certificate, a rate limit, a malformed
/// request, too many connections) and access decisions — are counted always and written sampled: the first refusal of a kind
/// (code, reason, client address) in a window (a minute by default) is written at once; the rest of that window are
/// counted and written as one summary event when it ends. The log shows every kind and how many, and a flood cannot turn into
/// a flood of writes.
/// </summary>
public sealed class SampledAudit : IHostedService, IDisposable
{
    private const int MaxKinds = 10_000;
    private readonly TimeSpan _window;

    private readonly IAuditLog _log;
    private readonly TimeProvider _time;
    private readonly ILogger<SampledAudit> _logger;
    private readonly Counter<long> _refusals;
    private readonly ConcurrentDictionary<string, Kind> _kinds = new(StringComparer.Ordinal);
    private ITimer? _flush;

    public SampledAudit(IAuditLog log, Hosting.GatewayOptions options, TimeProvider time, IMeterFactory meters, ILogger<SampledAudit> logger)
    {
        _window = options.SampledAuditWindow;
        _log = log;
        _time = time;
        _logger = logger;
        _refusals = meters.Create(Silo.Hosting.Telemetry.SourceName).CreateCounter<long>("devicetrust.gateway.refusals",
            description: "Calls and connections refused before a method ran, by audit code and status");
    }

    public async Task RecordAsync(string code, string clientIp, string user, StatusCode status, string reason, string target = "",
        bool success = false, string deviceId = "")
    {
        _refusals.Add(1, new KeyValuePair<string, object?>("code", code), new KeyValuePair<string, object?>("status", status.ToString()));
        var now = _time.GetUtcNow();
        // Refusals are one kind per (code, status, source, reason), whatever name each attempt used, so a flood of made-up
        // names is still one kind; decisions (success or not, with a device) are per user and device too.
        var key = success || deviceId.Length > 0 || code.StartsWith("access.", StringComparison.Ordinal)
            ? $"{code}\n{status}\n{clientIp}\n{reason}\n{user}\n{deviceId}\n{target}"
            : $"{code}\n{status}\n{clientIp}\n{reason}";
        if (_kinds.TryGetValue(key, out var kind))
        {
            if (now < kind.Started + _window)
            {
                Interlocked.Increment(ref kind.Suppressed);
                return;
            }
            if (_kinds.TryRemove(new KeyValuePair<string, Kind>(key, kind)))
            {
                await WriteSummaryAsync(kind);
            }
        }
        if (_kinds.Count >= MaxKinds)
        {
            // Far more distinct refusals than a minute of flushing holds: count the rest in one bucket per code.
            var bucket = _kinds.GetOrAdd($"{code}\n(many kinds)", _ => new Kind(now, code, status, "", "", "events of many kinds", "", success, ""));
            Interlocked.Increment(ref bucket.Suppressed);
            return;
        }
        if (_kinds.TryAdd(key, new Kind(now, code, status, clientIp, user, reason, target, success, deviceId)))
        {
            await WriteAsync(new Kind(now, code, status, clientIp, user, reason, target, success, deviceId), reason, "");
        }
        else if (_kinds.TryGetValue(key, out var racing))
        {
            Interlocked.Increment(ref racing.Suppressed);
        }
    }

    /// <summary>Writes the summaries of the windows that have ended; called every few seconds.</summary>
    public async Task FlushAsync()
    {
        var now = _time.GetUtcNow();
        foreach (var (key, kind) in _kinds)
        {
            if (now >= kind.Started + _window && _kinds.TryRemove(new KeyValuePair<string, Kind>(key, kind)))
            {
                await WriteSummaryAsync(kind);
            }
        }
    }

    private Task WriteSummaryAsync(Kind kind)
    {
        var suppressed = Interlocked.Read(ref kind.Suppressed);
        return suppressed == 0
            ? Task.CompletedTask
            : WriteAsync(kind, $"{suppressed} more like this within {_window.TotalSeconds:F0} s: {kind.Reason}",
                $$"""{"suppressed":{{suppressed}},"window_seconds":{{_window.TotalSeconds:F0}}}""");
    }

    private async Task WriteAsync(Kind kind, string message, string details)
    {
        try
        {
            await _log.AppendAsync(new AuditEntry(_time.GetUtcNow(), kind.Code, kind.Success, kind.User, kind.DeviceId, "", "", "", kind.ClientIp, message)
            {
                Status = kind.Success ? "" : kind.Status.ToString(),
                Target = kind.Target,
                Details = details,
            });
        }
        catch (Exception e) when (e is System.Data.Common.DbException or InvalidOperationException)
        {
            // The decision stands whether or not its record could be written; the counter above still has it.
            _logger.LogError(e, "Could not write a sampled audit record ({Code}: {Reason})", kind.Code, message);
        }
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var every = TimeSpan.FromTicks(Math.Min(TimeSpan.FromSeconds(5).Ticks, _window.Ticks / 2));
        _flush = _time.CreateTimer(_ => _ = FlushAsync(), null, every, every);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_flush is not null)
        {
            await _flush.DisposeAsync();
        }
        // Whatever was counted is written before the gateway stops.
        foreach (var kind in _kinds.Values)
        {
            kind.Started = DateTimeOffset.MinValue;
        }
        await FlushAsync();
    }

    public void Dispose() => _flush?.Dispose();

    private sealed class Kind(DateTimeOffset started, string code, StatusCode status, string clientIp, string user, string reason, string target,
        bool success, string deviceId)
    {
        public bool Success { get; } = success;
        public string DeviceId { get; } = deviceId;
        public DateTimeOffset Started = started;
        public long Suppressed;
        public string Code { get; } = code;
        public StatusCode Status { get; } = status;
        public string ClientIp { get; } = clientIp;
        public string User { get; } = user;
        public string Reason { get; } = reason;
        public string Target { get; } = target;
    }
}
