namespace DeviceTrust.Grains.Web;

/// <summary>
/// One web console session, keyed by the SHA-256 (hex) of the random secret in the browser's cookie: the secret is
/// never stored, so the database cannot hand out sessions. Kept in the cluster's storage, so every gateway behind a
/// load balancer sees the same sessions and a logout or an expiry ends the session everywhere at once.
/// </summary>
[Alias("dt.IWebSessionGrain")]
public interface IWebSessionGrain : IGrainWithStringKey
{
    /// <summary>Starts the session; AlreadyExists if this key holds one (a secret is random, so that never happens by chance).</summary>
    [Alias("Start")]
    Task<WebSessionView> StartAsync(WebSessionStart start);

    /// <summary>
    /// The session if it is live, after counting this use against its idle timeout; null when there is none, it was
    /// ended, it sat idle past its timeout or it outlived its lifetime (an expired one is removed then).
    /// </summary>
    [Alias("Touch")]
    Task<WebSessionView?> TouchAsync();

    /// <summary>
    /// Records that this session proved a trusted device (device web authentication); FailedPrecondition when the
    /// session is no longer live. The device then stays with the session until it ends.
    /// </summary>
    [Alias("TrustDevice")]
    Task<WebSessionView> TrustDeviceAsync(WebSessionDevice device);

    /// <summary>Ends the session; false when there was no live session to end.</summary>
    [Alias("End")]
    Task<bool> EndAsync();
}

/// <summary>Who logged in, from where, and how long the session may last: idle at most <see cref="IdleTimeout"/>, in all at most <see cref="Lifetime"/>.</summary>
[GenerateSerializer, Immutable, Alias("dt.WebSessionStart")]
public sealed record WebSessionStart(
    [property: Id(0)] string UserId,
    [property: Id(1)] string UserName,
    [property: Id(2)] string ClientIp,
    [property: Id(3)] TimeSpan IdleTimeout,
    [property: Id(4)] TimeSpan Lifetime);

[GenerateSerializer, Immutable, Alias("dt.WebSessionView")]
public sealed record WebSessionView(
    [property: Id(0)] string UserId,
    [property: Id(1)] string UserName,
    [property: Id(2)] string ClientIp,
    [property: Id(3)] DateTimeOffset Started,
    [property: Id(4)] DateTimeOffset Expires)
{
    /// <summary>The trusted device this session proved, or null.</summary>
    [Id(5)] public WebSessionDevice? Device { get; init; }
}
