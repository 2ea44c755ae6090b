using DeviceTrust.Core.Audit;
using DeviceTrust.Core.Errors;
using Grpc.Core;

namespace DeviceTrust.Gateway.Audit;

/// <summary>
/// How a method that audits itself (the anonymous logins, the ceremonies) ends in exactly one event whatever ends
/// it: a failure with its real reason, a timeout, an abandoned call, an internal error. ResourceExhausted refusals
/// (rate limits, busy pools, login delays) come in floods and go to the sampled <see cref="SampledAudit"/> instead.
/// </summary>
public static class AuditedCall
{
    public static async Task<T> RunAsync<T>(AuditRecord record, SampledAudit refusals, Func<Task<T>> call)
    {
        try
        {
            return await call();
        }
        catch (DeviceTrustException e) when (e.Kind == ErrorKind.ResourceExhausted)
        {
            record.EndedSampled(e.Message, StatusCode.ResourceExhausted);
            await refusals.RecordAsync(AuditCodes.RateLimited, record.ClientIp, record.User, StatusCode.ResourceExhausted, e.Message, record.Target);
            throw;
        }
        catch (Exception e)
        {
            await record.FailedAsync(e);
            throw;
        }
    }

    public static Task RunAsync(AuditRecord record, SampledAudit refusals, Func<Task> call) =>
        RunAsync(record, refusals, async () =>
        {
            await call();
            return true;
        });
}
