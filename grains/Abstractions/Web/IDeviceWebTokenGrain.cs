namespace DeviceTrust.Grains.Web;

/// <summary>
/// The two single-use secrets of device web authentication, keyed by the SHA-256 (hex) of the secret (never stored):
/// the <see cref="DeviceWebTokenKind.WebToken"/> the console hands to dtsh for one web session, and the
/// <see cref="DeviceWebTokenKind.Confirmation"/> the ceremony hands back for the browser to present. A secret of one
/// kind is never accepted as the other.
/// </summary>
[Alias("dt.IDeviceWebTokenGrain")]
public interface IDeviceWebTokenGrain : IGrainWithStringKey
{
    /// <summary>Records the secret; AlreadyExists if this key holds one.</summary>
    [Alias("Create")]
    Task CreateAsync(DeviceWebToken token);

    /// <summary>
    /// Spends the secret for <paramref name="userId"/> and returns what it was issued for. PermissionDenied with the
    /// reason when it is unknown, of the other kind, already used, expired or issued to another user; only a spend
    /// that succeeds uses it up (once, even under racing callers).
    /// </summary>
    [Alias("Spend")]
    Task<DeviceWebToken> SpendAsync(DeviceWebTokenKind kind, string userId);
}

public enum DeviceWebTokenKind
{
    WebToken = 1,
    Confirmation = 2,
}

/// <summary>
/// What a device web secret is bound to: one web session (the SHA-256 key of its session grain), one user, the
/// browser's address when it was made; a confirmation also names the device that proved itself.
/// </summary>
[GenerateSerializer, Immutable, Alias("dt.DeviceWebToken")]
public sealed record DeviceWebToken(
    [property: Id(0)] DeviceWebTokenKind Kind,
    [property: Id(1)] string SessionKey,
    [property: Id(2)] string UserId,
    [property: Id(3)] string UserName,
    [property: Id(4)] string BrowserIp,
    [property: Id(5)] DateTimeOffset Expires)
{
    /// <summary>The longest lifetime of a web token and of a confirmation, and their default (DeviceTrust:Web:DeviceTokenLifetime).</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(5);

    [Id(6)] public WebSessionDevice? Device { get; init; }
}

/// <summary>The device a web session proved, as its certificate's device extensions would name it.</summary>
[GenerateSerializer, Immutable, Alias("dt.WebSessionDevice")]
public sealed record WebSessionDevice(
    [property: Id(0)] string DeviceId,
    [property: Id(1)] string AssetTag,
    [property: Id(2)] string CredentialId,
    [property: Id(3)] DateTimeOffset Authenticated);
