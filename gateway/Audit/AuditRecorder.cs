using DeviceTrust.Silo.Database;
using Grpc.Core;

namespace DeviceTrust.Gateway.Audit;

/// <summary>
/// Writes audit events with who and from where. Awaited before an RPC answers, so a success the client sees is
/// always recorded (the log is append-only in the database).
/// </summary>
public sealed class AuditRecorder(AuditLog log, TimeProvider time)
{
    public AuditRecord Begin(string type, ServerCallContext context, string user) =>
        new(this, type, user, context.GetHttpContext().Connection.RemoteIpAddress?.MapToIPv4().ToString() ?? "");

    internal Task WriteAsync(AuditRecord e, bool success, string message) =>
        log.AppendAsync(new AuditEntry(time.GetUtcNow(), e.Type, success, e.User, e.DeviceId, e.AssetTag, e.OsType, e.CredentialId, e.ClientIp, message));
}

/// <summary>An audit event being filled in as a ceremony learns more; written once, as a success or a failure.</summary>
public sealed class AuditRecord(AuditRecorder recorder, string type, string user, string clientIp)
{
    public string Type { get; } = type;
    public string User { get; } = user;
    public string ClientIp { get; } = clientIp;
    public string DeviceId { get; set; } = "";
    public string AssetTag { get; set; } = "";
    public string OsType { get; set; } = "";
    public string CredentialId { get; set; } = "";

    /// <summary>What a ceremony's init said about the device, recorded before anything is checked.</summary>
    public void Describe(string credentialId, Core.Devices.CollectedData data)
    {
        CredentialId = credentialId;
        OsType = Core.Devices.OsTypes.ToText(data.OsType);
        AssetTag = data.SerialNumber;
    }

    public Task SucceededAsync(string message) => recorder.WriteAsync(this, true, message);

    public Task FailedAsync(string reason) => recorder.WriteAsync(this, false, reason);
}
