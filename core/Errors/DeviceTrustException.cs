namespace DeviceTrust.Core.Errors;

/// <summary>What kind of failure a domain error is; the gateway maps each to one gRPC status code.</summary>
public enum ErrorKind
{
    InvalidArgument,
    NotFound,
    AlreadyExists,
    PermissionDenied,
    FailedPrecondition,
    Unauthenticated,
    ResourceExhausted,
    /// <summary>Interrupted, not refused: the same request again may well succeed.</summary>
    Aborted,
}

/// <summary>
/// The one error vocabulary of the product. Messages are sentences a person can act on and never
/// carry a secret: they travel to clients as they are.
/// </summary>
public sealed class DeviceTrustException : Exception
{
    public DeviceTrustException(ErrorKind kind, string message) : base(message) => Kind = kind;

    public DeviceTrustException() : this(ErrorKind.FailedPrecondition, "operation failed") { }

    public DeviceTrustException(string message) : this(ErrorKind.FailedPrecondition, message) { }

    public DeviceTrustException(string message, Exception innerException) : base(message, innerException) =>
        Kind = ErrorKind.FailedPrecondition;

    public ErrorKind Kind { get; }

    public static DeviceTrustException InvalidArgument(string message) => new(ErrorKind.InvalidArgument, message);
    public static DeviceTrustException NotFound(string message) => new(ErrorKind.NotFound, message);
    public static DeviceTrustException AlreadyExists(string message) => new(ErrorKind.AlreadyExists, message);
    public static DeviceTrustException PermissionDenied(string message) => new(ErrorKind.PermissionDenied, message);
    public static DeviceTrustException FailedPrecondition(string message) => new(ErrorKind.FailedPrecondition, message);
    public static DeviceTrustException Unauthenticated(string message) => new(ErrorKind.Unauthenticated, message);
    public static DeviceTrustException Aborted(string message) => new(ErrorKind.Aborted, message);

    /// <summary>Too much at once (a rate limit, a busy pool): the caller may retry after <paramref name="retryAfter"/>.</summary>
    public static DeviceTrustException ResourceExhausted(string message, TimeSpan retryAfter) =>
        new(ErrorKind.ResourceExhausted, message) { RetryAfter = retryAfter };

    /// <summary>For <see cref="ErrorKind.ResourceExhausted"/>: how long to wait before trying again.</summary>
    public TimeSpan? RetryAfter { get; private init; }
}
