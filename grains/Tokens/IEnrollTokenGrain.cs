namespace DeviceTrust.Grains.Tokens;

/// <summary>
/// One enrollment token, keyed by the hex SHA-256 of the token (the token itself is never stored or readable):
/// bound to one device, expires, spent at most once even when many callers race.
/// </summary>
[Alias("dt.IEnrollTokenGrain")]
public interface IEnrollTokenGrain : IGrainWithStringKey
{
    [Alias("Create")]
    Task CreateAsync(Guid deviceId, DateTimeOffset expires, string createdBy, bool autoEnroll);

    /// <summary>Spends the token and returns its device; PermissionDenied with the real reason otherwise.</summary>
    [Alias("Spend")]
    Task<Guid> SpendAsync();
}
