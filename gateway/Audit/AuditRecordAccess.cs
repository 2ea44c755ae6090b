using Grpc.Core;

namespace DeviceTrust.Gateway.Audit;

public static class AuditRecordAccess
{
    /// <summary>The audit event the interceptor opened for this call, for the method to fill in (target, details, message).</summary>
    public static AuditRecord Audit(this ServerCallContext context) =>
        context.GetHttpContext().Items[typeof(AuditRecord)] as AuditRecord
        ?? throw new InvalidOperationException("this call has no audit record: the method is anonymous, audits itself, or the interceptor did not run");
}
