using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using DeviceTrust.Core.Errors;
using DeviceTrust.Grains.Web;
using Microsoft.AspNetCore.Http;

namespace DeviceTrust.Web;

/// <summary>A live console session and the user it belongs to, for the request that presented it.</summary>
public sealed record ConsoleSession(WebSessionView View, ConsoleUser User, string CsrfToken, string Key);

/// <summary>
/// Console sessions: a random 32-byte secret in a <c>__Host-</c> cookie (HttpOnly, Secure, SameSite=Strict, path /,
/// gone when the browser closes); only its SHA-256 keys the session grain, which enforces the idle timeout and the
/// lifetime for every gateway at once. Forms carry a CSRF token derived from the secret (HMAC), so nothing more is
/// stored and a token is good for its session only; the login form, which has no session yet, uses a double-submit
/// cookie instead.
/// </summary>
public sealed class ConsoleSessions(IGrainFactory grains, IConsoleHost host, WebConsoleOptions options)
{
    public const string CookieName = "__Host-devicetrust-session";
    public const string LoginCookieName = "__Host-devicetrust-login";
    public const string CsrfField = "csrf";
    private const int SecretBytes = 32;
    private static readonly byte[] CsrfLabel = Encoding.ASCII.GetBytes("devicetrust web console csrf v1");

    public async Task<ConsoleSession> StartAsync(HttpContext http, ConsoleUser user)
    {
        // A login in a browser that still holds a session ends that one: its secret is about to be overwritten, and
        // a session nobody can present any more must not stay live until it idles out.
        if (Secret(http) is { } previous)
        {
            await grains.GetGrain<IWebSessionGrain>(KeyOf(previous)).EndAsync();
        }
        var secret = RandomNumberGenerator.GetBytes(SecretBytes);
        var view = await grains.GetGrain<IWebSessionGrain>(KeyOf(secret)).StartAsync(new WebSessionStart(user.Id.ToString(), user.Name,
            ConsoleAddress.Of(http), options.IdleTimeout, options.SessionLifetime));
        http.Response.Cookies.Append(CookieName, Base64Url.EncodeToString(secret), Cookie());
        return new ConsoleSession(view, user, Csrf(secret), KeyOf(secret));
    }

    /// <summary>
    /// The request's live session, or null (no cookie, a malformed one, an unknown, ended or expired session, a user
    /// deleted or re-created since). A lock on the user throws PermissionDenied with its reason.
    /// </summary>
    public async Task<ConsoleSession?> ResolveAsync(HttpContext http)
    {
        if (Secret(http) is not { } secret || await grains.GetGrain<IWebSessionGrain>(KeyOf(secret)).TouchAsync() is not { } view)
        {
            return null;
        }
        if (!Guid.TryParse(view.UserId, out _) || await host.CurrentAsync(view.UserId, view.UserName) is not { } user)
        {
            // The user is gone: so is the session.
            await grains.GetGrain<IWebSessionGrain>(KeyOf(secret)).EndAsync();
            return null;
        }
        return new ConsoleSession(view, user, Csrf(secret), KeyOf(secret));
    }

    /// <summary>Ends the request's session, if any, and drops the cookie; whether there was a live one.</summary>
    public async Task<bool> EndAsync(HttpContext http)
    {
        http.Response.Cookies.Delete(CookieName, Cookie());
        return Secret(http) is { } secret && await grains.GetGrain<IWebSessionGrain>(KeyOf(secret)).EndAsync();
    }

    /// <summary>Upgrades the session: it proved this trusted device (device web authentication).</summary>
    public Task<WebSessionView> TrustDeviceAsync(ConsoleSession session, WebSessionDevice device) =>
        grains.GetGrain<IWebSessionGrain>(session.Key).TrustDeviceAsync(device);

    /// <summary>Whether a form's CSRF token is the one of this session (constant time).</summary>
    public static bool CsrfMatches(ConsoleSession session, string? presented) => Same(session.CsrfToken, presented);

    /// <summary>The login form's token: the one in its cookie, made now if the browser has none yet.</summary>
    public static string LoginToken(HttpContext http)
    {
        if (http.Request.Cookies.TryGetValue(LoginCookieName, out var existing) && Decode(existing) is not null)
        {
            return existing;
        }
        var token = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(SecretBytes));
        http.Response.Cookies.Append(LoginCookieName, token, Cookie());
        return token;
    }

    /// <summary>Drops the login form's cookie once it has served (a new login page makes a new one).</summary>
    public static void DropLoginToken(HttpContext http) => http.Response.Cookies.Delete(LoginCookieName, Cookie());

    /// <summary>Whether the login form came with the token its cookie holds (double submit; constant time).</summary>
    public static bool LoginTokenMatches(HttpContext http, string? presented) =>
        http.Request.Cookies.TryGetValue(LoginCookieName, out var cookie) && Decode(cookie) is not null && Same(cookie, presented);

    private static bool Same(string expected, string? presented) =>
        presented is not null && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(expected), Encoding.ASCII.GetBytes(presented));

    /// <summary>The session grain's key: the SHA-256 of the secret, so storage never holds what the cookie holds.</summary>
    private static string KeyOf(byte[] secret) => Convert.ToHexStringLower(SHA256.HashData(secret));

    private static byte[]? Secret(HttpContext http) =>
        http.Request.Cookies.TryGetValue(CookieName, out var value) ? Decode(value) : null;

    private static byte[]? Decode(string? value)
    {
        // Bounded before decoding: 32 bytes are 43 characters of base64url.
        if (value is null || value.Length != 43)
        {
            return null;
        }
        var bytes = new byte[SecretBytes];
        return Base64Url.TryDecodeFromChars(value, bytes, out var written) && written == SecretBytes ? bytes : null;
    }

    private static string Csrf(byte[] secret) => Base64Url.EncodeToString(HMACSHA256.HashData(secret, CsrfLabel));

    private static CookieOptions Cookie() => new()
    {
        HttpOnly = true,
        Secure = true,
        SameSite = SameSiteMode.Strict,
        Path = "/",
        IsEssential = true,
    };
}

/// <summary>The console's settings (<c>DeviceTrust:Web</c>).</summary>
public sealed record WebConsoleOptions
{
    public const string Section = "DeviceTrust:Web";

    /// <summary>A session unused this long ends (default 15 minutes).</summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromMinutes(15);

    /// <summary>A session ends this long after its login, used or not (default 12 hours).</summary>
    public TimeSpan SessionLifetime { get; init; } = TimeSpan.FromHours(12);

    /// <summary>
    /// How long a device web token and its confirmation code work (default and most 5 minutes; at least 10 seconds):
    /// a team may make the window shorter, never longer.
    /// </summary>
    public TimeSpan DeviceTokenLifetime { get; init; } = DeviceWebToken.Lifetime;

    /// <summary>The device token lifetime as a person reads it: "5 minutes", "90 seconds".</summary>
    public string DeviceTokenLifetimeText => DeviceTokenLifetime.TotalSeconds % 60 == 0 && DeviceTokenLifetime >= TimeSpan.FromMinutes(1)
        ? DeviceTokenLifetime == TimeSpan.FromMinutes(1) ? "1 minute" : $"{(int)DeviceTokenLifetime.TotalMinutes} minutes"
        : $"{(int)DeviceTokenLifetime.TotalSeconds} seconds";

    public WebConsoleOptions Validated()
    {
        if (IdleTimeout < TimeSpan.FromMinutes(1) || IdleTimeout > TimeSpan.FromHours(24))
        {
            throw DeviceTrustException.InvalidArgument($"{Section}:IdleTimeout must be between 1 minute and 24 hours");
        }
        if (SessionLifetime < IdleTimeout || SessionLifetime > TimeSpan.FromDays(7))
        {
            throw DeviceTrustException.InvalidArgument($"{Section}:SessionLifetime must be at least the idle timeout and at most 7 days");
        }
        if (DeviceTokenLifetime < TimeSpan.FromSeconds(10) || DeviceTokenLifetime > DeviceWebToken.Lifetime)
        {
            throw DeviceTrustException.InvalidArgument($"{Section}:DeviceTokenLifetime must be between 10 seconds and 5 minutes");
        }
        return this;
    }
}

/// <summary>The browser's address as the audit log writes it and as device web authentication compares it.</summary>
public static class ConsoleAddress
{
    public static string Of(HttpContext http) => Core.Audit.PeerAddress.Text(http.Connection.RemoteIpAddress);
}
