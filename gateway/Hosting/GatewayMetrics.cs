using System.Diagnostics;
using System.Diagnostics.Metrics;
using DeviceTrust.Core.Audit;
using DeviceTrust.Gateway.Policy;

namespace DeviceTrust.Gateway.Hosting;

/// <summary>
/// The gateway's own metrics, taken where every operation already ends: its audit event. One histogram for every
/// audited operation by code and result, the two ceremonies by result and attestation, token creations, login
/// refusals by reason; and gauges read from the policy snapshots the gateway holds (no call to the cluster). Names
/// follow OpenTelemetry; the Prometheus exporter adds the unit and <c>_total</c> (<c>devicetrust_enroll_seconds</c>).
/// Every label value comes from a fixed set (codes, statuses, attestation types, reasons), never from a request.
/// </summary>
public sealed class GatewayMetrics
{
    private readonly Histogram<double> _operations;
    private readonly Histogram<double> _enroll;
    private readonly Histogram<double> _authenticate;
    private readonly Counter<long> _tokens;
    private readonly Counter<long> _loginRefusals;

    public GatewayMetrics(IMeterFactory meters, IdentityCache identities)
    {
        var meter = meters.Create(Silo.Hosting.Telemetry.SourceName);
        _operations = meter.CreateHistogram<double>("devicetrust.operation", "s", "Audited operations (RPCs, ceremonies, console actions), by audit code and result");
        _enroll = meter.CreateHistogram<double>("devicetrust.enroll", "s", "Device enrollment ceremonies, by result and attestation");
        _authenticate = meter.CreateHistogram<double>("devicetrust.authenticate", "s", "Device authentication ceremonies, by result and attestation");
        _tokens = meter.CreateCounter<long>("devicetrust.tokens", description: "Tokens created, by kind (enroll: enrollment tokens; web: device web tokens)");
        _loginRefusals = meter.CreateCounter<long>("devicetrust.login.refusals", description: "Refused password logins, by reason");
        meter.CreateObservableGauge("devicetrust.locks", () => identities.LocksInForce is { } count ? [new Measurement<int>(count)] : Array.Empty<Measurement<int>>(),
            description: "Locks in force, in this gateway's snapshot");
        meter.CreateObservableGauge("devicetrust.policy.snapshot.age",
            () => identities.SnapshotAges().Select(a => new Measurement<double>(a.Age.TotalSeconds, new KeyValuePair<string, object?>("snapshot", a.Snapshot))),
            "s", "How old this gateway's copy of each policy snapshot is (refreshed when older than PolicyCacheTtl and used)");
    }

    /// <summary>An operation ended: <paramref name="status"/> is empty for a success, else the gRPC status of the refusal.</summary>
    public void Ended(string code, long started, bool success, string status, string message, string attestation)
    {
        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        var result = new KeyValuePair<string, object?>("result", success ? "ok" : status);
        _operations.Record(seconds, new KeyValuePair<string, object?>("code", code), result);
        var kind = new KeyValuePair<string, object?>("attestation", attestation.Length > 0 ? attestation : "unknown");
        switch (code)
        {
            case AuditCodes.DeviceEnroll:
                _enroll.Record(seconds, result, kind);
                break;
            case AuditCodes.DeviceAuthenticate:
                _authenticate.Record(seconds, result, kind);
                break;
            case AuditCodes.DeviceTokenCreate when success:
                _tokens.Add(1, new KeyValuePair<string, object?>("kind", "enroll"));
                break;
            case AuditCodes.DeviceWebTokenCreate when success:
                _tokens.Add(1, new KeyValuePair<string, object?>("kind", "web"));
                break;
            case AuditCodes.UserLogin when !success:
                _loginRefusals.Add(1, new KeyValuePair<string, object?>("reason", LoginReason(status, message)));
                break;
        }
    }

    /// <summary>A refused login's reason as a label: the few exact reasons the login records, else its status.</summary>
    public static string LoginReason(string status, string message) => message switch
    {
        "wrong password" => "wrong_password",
        "no such user" => "no_such_user",
        "the user has no password yet" => "no_password",
        _ => status switch
        {
            "ResourceExhausted" => "rate_limited",
            "PermissionDenied" => "locked",
            "Unauthenticated" => "bad_credentials",
            "InvalidArgument" => "invalid_request",
            _ => "other",
        },
    };
}
