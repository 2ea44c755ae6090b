using DeviceTrust.Core.Audit;
using DeviceTrust.Core.Certificates;
using DeviceTrust.Core.Errors;
using DeviceTrust.Gateway.Audit;
using DeviceTrust.Gateway.Errors;
using DeviceTrust.Gateway.Policy;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.AspNetCore.Authorization;

namespace DeviceTrust.Gateway.Authentication;

/// <summary>
/// Every RPC passes here. Authentication: a client certificate (already chain-validated by Kestrel) naming a user
/// who still exists with the same immutable id and credential generation, unless the method is [AllowAnonymous].
/// Authorization: the [Requires] verb on the resource. Audit: one event per call under the method's [Audited] code.
/// Errors: domain errors become their gRPC status; anything else is logged and becomes Internal without details.
/// </summary>
public sealed class GatewayInterceptor(
    IdentityCache identities,
    CertificateUsers certificates,
    AuditRecorder audit,
    SampledAudit refusals,
    TimeProvider time,
    ILogger<GatewayInterceptor> log) : Interceptor
{
    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context,
        UnaryServerMethod<TRequest, TResponse> continuation) =>
        RunAsync(context, () => continuation(request, context));

    public override Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream,
        ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation) =>
        RunAsync(context, () => continuation(requestStream, context));

    public override Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream,
        ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation) =>
        RunAsync(context, async () =>
        {
            await continuation(request, responseStream, context);
            return true;
        });

    public override Task DuplexStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream,
        IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation) =>
        RunAsync(context, async () =>
        {
            await continuation(requestStream, responseStream, context);
            return true;
        });

    private async Task<T> RunAsync<T>(ServerCallContext context, Func<Task<T>> call)
    {
        var http = context.GetHttpContext();
        var metadata = http.GetEndpoint()?.Metadata;
        var anonymous = metadata?.GetMetadata<IAllowAnonymous>() is not null;
        var nodeOnly = metadata?.GetMetadata<NodeOnlyAttribute>() is not null;
        // Our RPCs all carry a code (checked at start, RpcContract); the framework's health service is anonymous and not audited.
        var audited = metadata?.GetMetadata<AuditedAttribute>()
                      ?? (anonymous ? new AuditedAttribute("") { Reads = true, BySelf = true } : throw new InvalidOperationException($"{context.Method} has no [Audited] code"));
        Caller? caller = null;
        NodeCaller? node = null;
        AuditRecord? record = null;
        var lockRecorded = false;
        try
        {
            if (nodeOnly)
            {
                node = await AuthenticateNodeAsync(http);
                http.Items[typeof(NodeCaller)] = node;
            }
            else if (!anonymous)
            {
                caller = await AuthenticateAsync(http);
                http.Items[typeof(Caller)] = caller;
                // A lock cuts its target off at once: every call with the certificate of a locked user, role or device,
                // recorded under the method's code (ceremonies included, which otherwise record themselves).
                if ((await identities.LocksAsync()).Against(caller.User.Id.ToString(), caller.User.Roles, caller.Device?.DeviceId, time.GetUtcNow())
                    is [var firstLock, ..])
                {
                    var locked = DeviceTrustException.PermissionDenied(firstLock.Reason);
                    await audit.Begin(audited.Code, context, caller).Detail("rpc", context.Method).Detail("lock_id", firstLock.Id)
                        .FailedAsync(locked.Message, StatusCode.PermissionDenied);
                    lockRecorded = true;
                    throw locked;
                }
                // Reads are recorded only when refused, so their record is made then: nothing extra on the hot path.
                if (!audited.BySelf && !audited.Reads)
                {
                    record = audit.Begin(audited.Code, context, caller);
                    http.Items[typeof(AuditRecord)] = record;
                }
                if (metadata!.GetMetadata<RequiresAttribute>() is { } requirement
                    && !await identities.AllowsAsync(caller.User, requirement.Resource, requirement.Verb))
                {
                    throw Denied(caller.User, requirement.Resource, requirement.Verb);
                }
            }
            var result = await call();
            if (record is not null)
            {
                await record.SucceededAsync();
            }
            return result;
        }
        catch (Exception e)
        {
            if (ErrorStatus.Expected(e, context.CancellationToken) is null)
            {
                log.LogError(e, "Unhandled error in {Method}", context.Method);
            }
            if (e is DeviceTrustException { Kind: ErrorKind.ResourceExhausted } exhausted && !audited.BySelf)
            {
                // Rate limits and busy pools: refused before any work, and they come in floods, so sampled.
                await refusals.RecordAsync(AuditCodes.RateLimited, ClientAddress.Of(context), caller?.Name ?? "", StatusCode.ResourceExhausted,
                    exhausted.Message);
            }
            else if (node is not null && e is DeviceTrustException nodeRefused)
            {
                await refusals.RecordAsync(audited.Code, ClientAddress.Of(context), node.AuditName, ErrorStatus.Of(nodeRefused.Kind), nodeRefused.Message);
            }
            else if (caller is not null && !audited.BySelf && !lockRecorded)
            {
                record ??= audit.Begin(audited.Code, context, caller);
                await record.Detail("rpc", context.Method).FailedAsync(e);
            }
            else if (!anonymous && caller is null && e is DeviceTrustException { Kind: ErrorKind.Unauthenticated } refused)
            {
                await refusals.RecordAsync(AuditCodes.Unauthenticated, ClientAddress.Of(context),
                    http.Connection.ClientCertificate is { } presented ? Presenter(presented) : "", StatusCode.Unauthenticated, refused.Message);
            }
            throw ErrorStatus.ToRpc(e, context.CancellationToken);
        }
    }

    /// <summary>Who a refused certificate says it is, as the audit log names them: a user name, or <c>node:NAME</c>.</summary>
    private static string Presenter(System.Security.Cryptography.X509Certificates.X509Certificate2 certificate) =>
        (NodeIdentity.IsPresent(certificate) ? "node:" : "") + (CertificateAuthority.UserOf(certificate) ?? "");

    private async Task<NodeCaller> AuthenticateNodeAsync(HttpContext http)
    {
        var certificate = http.Connection.ClientCertificate
            ?? throw DeviceTrustException.Unauthenticated("this call is for SSH nodes: present the node's credential from dtnode join");
        if (NodeIdentity.Read(certificate) is not { } id)
        {
            throw DeviceTrustException.Unauthenticated("this call is for SSH nodes: a user certificate may not make it");
        }
        if (certificate.NotAfter.ToUniversalTime() <= time.GetUtcNow().UtcDateTime)
        {
            throw DeviceTrustException.Unauthenticated("the node's credential has expired: join the node again");
        }
        // Looked up live: a removed node's credential stops working within the snapshot's staleness.
        var found = (await identities.NodesAsync()).ById(id);
        if (found is null || found.Name != CertificateAuthority.UserOf(certificate))
        {
            throw DeviceTrustException.Unauthenticated("the node of this credential is no longer registered: join it again (dtctl nodes add, dtnode join)");
        }
        return new NodeCaller(found, certificate);
    }

    private async Task<Caller> AuthenticateAsync(HttpContext http)
    {
        var certificate = http.Connection.ClientCertificate
            ?? throw DeviceTrustException.Unauthenticated("a client certificate is required: log in with dtsh login");
        if (NodeIdentity.IsPresent(certificate))
        {
            throw DeviceTrustException.Unauthenticated("this is an SSH node's credential: it may only report that the node is alive and ask about access to it");
        }
        // Kestrel checked the chain at the handshake.
        return await certificates.ResolveAsync(certificate, verifyChain: false);
    }

    public static DeviceTrustException Denied(Grains.Users.UserView user, string resource, string verb) =>
        DeviceTrustException.PermissionDenied(Core.Roles.RoleSet.DeniedReason(user.Name, user.Roles, resource, verb));
}
