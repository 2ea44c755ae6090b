using DeviceTrust.Core.Certificates;
using DeviceTrust.Core.Errors;
using DeviceTrust.Gateway.Ceremonies;
using DeviceTrust.Gateway.Policy;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.AspNetCore.Authorization;

namespace DeviceTrust.Gateway.Authentication;

/// <summary>
/// Every RPC passes here. Authentication: a client certificate (already chain-validated by Kestrel) naming a user
/// who still exists, unless the method is [AllowAnonymous]. Authorization: the [Requires] verb on the resource.
/// Errors: domain errors become their gRPC status; anything else is logged and becomes Internal without details.
/// </summary>
public sealed class GatewayInterceptor(IdentityCache identities, TimeProvider time, ILogger<GatewayInterceptor> log) : Interceptor
{
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context,
        UnaryServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            await AuthenticateAsync(context);
            return await continuation(request, context);
        }
        catch (Exception e) when (Translate(e, context) is { } rpc)
        {
            throw rpc;
        }
    }

    public override async Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream,
        ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            await AuthenticateAsync(context);
            return await continuation(requestStream, context);
        }
        catch (Exception e) when (Translate(e, context) is { } rpc)
        {
            throw rpc;
        }
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream,
        ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            await AuthenticateAsync(context);
            await continuation(request, responseStream, context);
        }
        catch (Exception e) when (Translate(e, context) is { } rpc)
        {
            throw rpc;
        }
    }

    public override async Task DuplexStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream,
        IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            await AuthenticateAsync(context);
            await continuation(requestStream, responseStream, context);
        }
        catch (Exception e) when (Translate(e, context) is { } rpc)
        {
            throw rpc;
        }
    }

    private async Task AuthenticateAsync(ServerCallContext context)
    {
        var http = context.GetHttpContext();
        var endpoint = http.GetEndpoint();
        if (endpoint?.Metadata.GetMetadata<IAllowAnonymous>() is not null)
        {
            return;
        }
        var certificate = http.Connection.ClientCertificate
            ?? throw DeviceTrustException.Unauthenticated("a client certificate is required: log in with dtsh login");
        // Kestrel checked the chain at the handshake, but an HTTP/2 connection can outlive the certificate.
        if (certificate.NotAfter.ToUniversalTime() <= time.GetUtcNow().UtcDateTime)
        {
            throw DeviceTrustException.Unauthenticated("your certificate has expired: log in again with dtsh login");
        }
        var name = CertificateAuthority.UserOf(certificate);
        var user = name is null ? null : await identities.GetUserAsync(name);
        if (user is null)
        {
            throw DeviceTrustException.Unauthenticated($"the user \"{name}\" of your certificate no longer exists");
        }
        http.Items[typeof(Caller)] = new Caller(user, certificate, DeviceExtensions.Read(certificate));
        if (endpoint?.Metadata.GetMetadata<RequiresAttribute>() is { } requirement
            && !await identities.AllowsAsync(user, requirement.Resource, requirement.Verb))
        {
            throw Denied(user, requirement.Resource, requirement.Verb);
        }
    }

    public static DeviceTrustException Denied(Grains.Users.UserView user, string resource, string verb) =>
        DeviceTrustException.PermissionDenied(
            $"access denied: user \"{user.Name}\" may not {verb} {resource} (roles: {string.Join(", ", user.Roles)})");

    private RpcException? Translate(Exception exception, ServerCallContext context)
    {
        switch (exception)
        {
            case RpcException:
                return null; // already a status
            case DeviceTrustException e:
                return new RpcException(new Status(StatusCodeOf(e.Kind), e.Message));
            case Orleans.Storage.InconsistentStateException:
                return new RpcException(new Status(StatusCode.Aborted, "the record was changed concurrently: retry"));
            case CeremonyTimeoutException e:
                return new RpcException(new Status(StatusCode.DeadlineExceeded, e.Message));
            case OperationCanceledException when context.CancellationToken.IsCancellationRequested:
                return new RpcException(new Status(StatusCode.Cancelled, "the call was cancelled"));
            default:
                log.LogError(exception, "Unhandled error in {Method}", context.Method);
                return new RpcException(new Status(StatusCode.Internal, "internal error: the gateway log has the details"));
        }
    }

    public static StatusCode StatusCodeOf(ErrorKind kind) => kind switch
    {
        ErrorKind.InvalidArgument => StatusCode.InvalidArgument,
        ErrorKind.NotFound => StatusCode.NotFound,
        ErrorKind.AlreadyExists => StatusCode.AlreadyExists,
        ErrorKind.PermissionDenied => StatusCode.PermissionDenied,
        ErrorKind.FailedPrecondition => StatusCode.FailedPrecondition,
        ErrorKind.Unauthenticated => StatusCode.Unauthenticated,
        _ => StatusCode.Internal,
    };
}
