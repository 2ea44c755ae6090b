using DeviceTrust.Core.Errors;
using DeviceTrust.Gateway.Ceremonies;
using Grpc.Core;

namespace DeviceTrust.Gateway.Errors;

/// <summary>
/// The one translation from what went wrong to what the caller and the audit log are told: domain errors become
/// their status with their sentence, malformed input becomes InvalidArgument, and anything else is Internal with no
/// detail for the caller (the log has it) and its type for the audit log.
/// </summary>
public static class ErrorStatus
{
    public const string InternalMessage = "internal error: the gateway log has the details";

    public static StatusCode Of(ErrorKind kind) => kind switch
    {
        ErrorKind.InvalidArgument => StatusCode.InvalidArgument,
        ErrorKind.NotFound => StatusCode.NotFound,
        ErrorKind.AlreadyExists => StatusCode.AlreadyExists,
        ErrorKind.PermissionDenied => StatusCode.PermissionDenied,
        ErrorKind.FailedPrecondition => StatusCode.FailedPrecondition,
        ErrorKind.Unauthenticated => StatusCode.Unauthenticated,
        ErrorKind.ResourceExhausted => StatusCode.ResourceExhausted,
        ErrorKind.Aborted => StatusCode.Aborted,
        _ => StatusCode.Internal,
    };

    /// <summary>The status and the real reason; null for an exception that is a bug (an internal error).</summary>
    public static (StatusCode Status, string Reason)? Expected(Exception exception, CancellationToken call) => exception switch
    {
        DeviceTrustException e => (Of(e.Kind), e.Message),
        CeremonyTimeoutException e => (StatusCode.DeadlineExceeded, e.Message),
        // Raised by the framework while reading a streamed request: an incomplete frame, data after the end.
        RpcException { StatusCode: StatusCode.Internal } e => (StatusCode.InvalidArgument, $"the request stream is malformed: {e.Status.Detail}"),
        RpcException e => (e.StatusCode, e.Status.Detail),
        Google.Protobuf.InvalidProtocolBufferException e => (StatusCode.InvalidArgument, $"a request message is malformed: {e.Message}"),
        InvalidDataException e => (StatusCode.InvalidArgument, $"the request stream is malformed: {e.Message}"),
        Orleans.Storage.InconsistentStateException => (StatusCode.Aborted, "the record was changed concurrently: retry"),
        // A silo left the cluster with the call in flight, or none answered in time: the cluster moves its grains
        // to the silos that remain, so the same call again is expected to work.
        TimeoutException => (StatusCode.Unavailable, "the cluster did not answer in time (a node may have just left): retry"),
        Orleans.Runtime.OrleansMessageRejectionException or Orleans.Runtime.Messaging.ConnectionFailedException
            => (StatusCode.Unavailable, "the cluster node holding the record is leaving or gone: retry"),
        // The database refused or dropped the connection, or is out of connections: Orleans' storage wraps its error
        // in its own, so the cause is looked for along the chain. An error in our SQL is not transient: a bug.
        _ when TransientDatabaseError(exception) => (StatusCode.Unavailable, "the database did not answer: retry"),
        // While the cluster settles after a silo's death, a silo rejects a call with whatever stopped it (its grain
        // directory "not stable, retry later", a broken connection to the dead silo, a cancelled flush) and the client
        // rethrows that exception as it is, so the class, not a list of types, decides: the cluster's own errors all
        // the way down are retryable; one carrying an error of ours or of our SQL is a bug.
        Orleans.Runtime.OrleansException when ClusterTransient(exception)
            => (StatusCode.Unavailable, "the cluster is settling after a node left: retry"),
        // The client went away: the call was cancelled, or its stream broke while we read or wrote it.
        OperationCanceledException or IOException when call.IsCancellationRequested => (StatusCode.Cancelled, "the client abandoned the call"),
        // Cancelled by nothing of ours (our deadlines raise CeremonyTimeoutException): the cluster gave up on the call,
        // e.g. "Message expired before placement could complete" while the grain's directory entry was on a silo that
        // died and was not yet declared dead.
        OperationCanceledException => (StatusCode.Unavailable, "the cluster did not answer in time (a node may have just left): retry"),
        _ => null,
    };

    /// <summary>
    /// Whether an Orleans error is the cluster's own transient trouble: every exception along the chain is one of
    /// Orleans' delivery errors or a network, timeout or transient database error. Orleans errors that mean a bug
    /// or a misconfiguration (a remote exception it could not carry, a missing extension or provider) are not.
    /// </summary>
    private static bool ClusterTransient(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            var transient = e switch
            {
                Orleans.Runtime.WrappedException or Orleans.Runtime.GrainExtensionNotInstalledException
                    or Orleans.Storage.BadProviderConfigException or Orleans.Providers.ProviderInitializationException => false,
                Orleans.Runtime.OrleansException => true,
                // (connection aborts and resets are OperationCanceledException and IOException)
                TimeoutException or OperationCanceledException or IOException or System.Net.Sockets.SocketException => true,
                System.Data.Common.DbException { IsTransient: true } => true,
                _ => false,
            };
            if (!transient)
            {
                return false;
            }
        }
        return true;
    }

    private static bool TransientDatabaseError(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is System.Data.Common.DbException { IsTransient: true })
            {
                return true;
            }
        }
        return false;
    }

    public static RpcException ToRpc(Exception exception, CancellationToken call)
    {
        if (Expected(exception, call) is not { } known)
        {
            return new RpcException(new Status(StatusCode.Internal, InternalMessage));
        }
        var metadata = new Metadata();
        if (exception is DeviceTrustException { RetryAfter: { } retry })
        {
            // The standard gRPC pushback trailer: clients that retry wait at least this long.
            metadata.Add("grpc-retry-pushback-ms", ((long)Math.Ceiling(retry.TotalMilliseconds)).ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        return new RpcException(new Status(known.Status, known.Reason), metadata);
    }
}
