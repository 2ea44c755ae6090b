using System.Text.Json;
using DeviceTrust.Core.Audit;
using DeviceTrust.Gateway.Authentication;
using DeviceTrust.Gateway.Errors;
using DeviceTrust.Grains.ReadModels;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace DeviceTrust.Gateway.Audit;

/// <summary>
/// Writes audit events with who and from where. Awaited before an RPC answers, so a success the client sees is
/// always recorded (the log is append-only in the database).
/// </summary>
public sealed class AuditRecorder(IAuditLog log, TimeProvider time, Hosting.GatewayMetrics metrics, ILogger<AuditRecorder> logger)
{
    public AuditRecord Begin(string type, ServerCallContext context, string user, string userId = "") =>
        new(this, type, user, userId, ClientAddress.Of(context), context.CancellationToken);

    public AuditRecord Begin(string type, ServerCallContext context, Caller caller) =>
        Begin(type, context, caller.Name, caller.User.Id.ToString());

    /// <summary>An event of a request that is not a gRPC call (the web console), from the connection's peer.</summary>
    public AuditRecord Begin(string type, HttpContext http, string user, string userId = "") =>
        new(this, type, user, userId, ClientAddress.Text(http.Connection.RemoteIpAddress), http.RequestAborted);

    /// <summary>A further event of the same request as <paramref name="first"/> (same source, same cancellation).</summary>
    public AuditRecord Follow(AuditRecord first, string type, string user, string userId = "") =>
        new(this, type, user, userId, first.ClientIp, first.Cancellation);

    internal Task WriteAsync(AuditRecord e, bool success, string status, string message) => log.AppendAsync(Entry(e, success, status, message));

    /// <summary>
    /// Records a refused or failed call. If the audit log cannot take it (its database is what failed), the event goes
    /// to the gateway's log instead and the caller still gets the call's own status and reason: nothing succeeded, so
    /// nothing unrecorded was done, and the client learns what really went wrong rather than that the audit did.
    /// </summary>
    internal async Task WriteRefusalAsync(AuditRecord e, string status, string message)
    {
        try
        {
            await WriteAsync(e, false, status, message);
        }
        catch (Exception failure)
        {
            logger.LogError(failure, "The audit log could not record a refused call; the event: {Type} by {User} from {ClientIp}, device {DeviceId}: {Status} {Reason}",
                e.Type, e.User, e.ClientIp, e.DeviceId, status, message);
        }
    }

    /// <summary>
    /// The event as it would be written now, for a caller that commits it together with its change or with others.
    /// Every event passes here once, so this is where the operation's metrics are taken.
    /// </summary>
    public AuditEntry Entry(AuditRecord e, bool success, string status, string message)
    {
        Ended(e, success, status, message);
        return new(time.GetUtcNow(), e.Type, success, e.User, e.DeviceId, e.AssetTag, e.OsType, e.CredentialId, e.ClientIp, message)
        {
            UserId = e.UserId,
            Target = e.Target,
            Status = status,
            Details = e.DetailsJson(),
        };
    }

    /// <summary>Counts an operation that ended without an event of its own (a rate limit, recorded sampled).</summary>
    internal void Ended(AuditRecord e, bool success, string status, string message) =>
        metrics.Ended(e.Type, e.Started, success, status, message, e.Attestation);

    /// <summary>Many events in one write (each as <see cref="Entry"/> made it).</summary>
    public Task WriteAllAsync(IReadOnlyList<AuditEntry> entries) => log.AppendAllAsync(entries);
}

/// <summary>
/// One audit event being filled in as a call learns more; written exactly once, as a success or a failure. A
/// second write is ignored, so every path that ends a call may try to record it and only the first one counts.
/// </summary>
public sealed class AuditRecord(AuditRecorder recorder, string type, string user, string userId, string clientIp, CancellationToken call)
{
    /// <summary>The call's cancellation: whether the client went away decides how a failure is recorded.</summary>
    public CancellationToken Cancellation => call;

    // Readable as stored (the details are JSON in a database column, never HTML): no \u escapes for '+' or quotes.
    private static readonly JsonSerializerOptions DetailsJsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };
    private SortedDictionary<string, object?>? _details;
    private int _written;

    /// <summary>The event code; a method may refine it once it knows more (a create that replaced is an update).</summary>
    public string Type { get; set; } = type;
    public string User { get; } = user;
    public string UserId { get; } = userId;
    public string ClientIp { get; } = clientIp;
    public string DeviceId { get; set; } = "";
    public string AssetTag { get; set; } = "";
    public string OsType { get; set; } = "";
    public string CredentialId { get; set; } = "";

    /// <summary>What the event is about when it is not the device: a user name, <c>role/NAME</c>, <c>cluster_config</c>.</summary>
    public string Target { get; set; } = "";

    /// <summary>The sentence recorded on success (the caller's method sets it; a default is used otherwise).</summary>
    public string? Message { get; set; }

    /// <summary>A structured detail (before/after values, counts). Never a secret.</summary>
    public AuditRecord Detail(string key, object? value)
    {
        (_details ??= new(StringComparer.Ordinal))[key] = value;
        return this;
    }

    /// <summary>A before/after pair, recorded only when the value changed.</summary>
    public AuditRecord Change<T>(string key, T before, T after)
    {
        // compared as they will be written: lists and records are equal when their JSON is
        if (JsonSerializer.Serialize(before, DetailsJsonOptions) != JsonSerializer.Serialize(after, DetailsJsonOptions))
        {
            Detail(key, new { before, after });
        }
        return this;
    }

    /// <summary>What a ceremony's init said about the device, recorded before anything is checked.</summary>
    public void Describe(string credentialId, Core.Devices.CollectedData data)
    {
        CredentialId = credentialId;
        OsType = Core.Devices.OsTypes.ToText(data.OsType);
        AssetTag = data.SerialNumber;
    }

    /// <summary>When the operation began (a <see cref="System.Diagnostics.Stopwatch"/> timestamp), for its duration metric.</summary>
    public long Started { get; } = System.Diagnostics.Stopwatch.GetTimestamp();

    /// <summary>The attestation type of the device's credential once it is known ("" before), for the ceremony metrics.</summary>
    public string Attestation { get; private set; } = "";

    public void Describe(Core.Devices.DeviceRecord device)
    {
        Attestation = device.Credential is { } credential ? Core.Devices.AttestationPolicy.ToText(credential.AttestationType) : "";
        DeviceId = device.Id.ToString();
        AssetTag = device.AssetTag;
        OsType = Core.Devices.OsTypes.ToText(device.OsType);
        CredentialId = device.Credential?.Id ?? "";
    }

    public Task SucceededAsync(string? message = null) =>
        First() ? recorder.WriteAsync(this, true, "", message ?? Message ?? "done") : Task.CompletedTask;

    public Task FailedAsync(string reason, StatusCode status) =>
        First() ? recorder.WriteRefusalAsync(this, status.ToString(), reason) : Task.CompletedTask;

    /// <summary>Ends the record without an event of its own: a refusal that the sampled audit records instead.</summary>
    public void EndedSampled(string reason, StatusCode status)
    {
        if (First())
        {
            recorder.Ended(this, false, status.ToString(), reason);
        }
    }

    /// <summary>Records why a call ended with <paramref name="exception"/>: its real reason, or "internal error" and its type.</summary>
    public Task FailedAsync(Exception exception)
    {
        var (status, reason) = ErrorStatus.Expected(exception, call)
                               ?? (StatusCode.Internal, $"internal error ({exception.GetType().Name}): the gateway log has the details");
        return FailedAsync(status == StatusCode.Cancelled ? Abandoned() : reason, status);
    }

    /// <summary>Set when a ceremony has spent something (a token), so an abandoned one says what it cost.</summary>
    public string? Spent { get; set; }

    private string Abandoned() => Spent is null ? "abandoned: the client went away before the end" : $"abandoned after {Spent}: the client went away before the end";

    internal string DetailsJson() => _details is null ? "" : JsonSerializer.Serialize(_details, DetailsJsonOptions);

    private bool First() => Interlocked.Exchange(ref _written, 1) == 0;
}
