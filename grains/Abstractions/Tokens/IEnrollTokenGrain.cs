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

    /// <summary>
    /// Spends the token and returns what it was for; PermissionDenied with the real reason otherwise. A token minted
    /// by auto-enrollment can only be spent by a caller whose roles grant <c>device: enroll</c>
    /// (<paramref name="spenderMayEnroll"/>); an administrator's token is authorization enough by itself.
    /// </summary>
    [Alias("Spend")]
    Task<SpentToken> SpendAsync(bool spenderMayEnroll);
}

[GenerateSerializer, Immutable, Alias("dt.SpentToken")]
public sealed record SpentToken([property: Id(0)] Guid DeviceId, [property: Id(1)] string CreatedBy, [property: Id(2)] bool AutoEnroll);
