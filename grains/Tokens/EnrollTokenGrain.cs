using DeviceTrust.Core.Errors;

namespace DeviceTrust.Grains.Tokens;

public sealed class EnrollTokenState
{
    public Guid DeviceId { get; set; }
    public DateTimeOffset Created { get; set; }
    public DateTimeOffset Expires { get; set; }
    public string CreatedBy { get; set; } = "";
    public bool AutoEnroll { get; set; }
    public DateTimeOffset? Spent { get; set; }
}

public sealed class EnrollTokenGrain(
    [PersistentState(StateNames.EnrollToken, StateNames.Storage)] IPersistentState<EnrollTokenState> state,
    TimeProvider time) : Grain, IEnrollTokenGrain
{
    public async Task CreateAsync(Guid deviceId, DateTimeOffset expires, string createdBy, bool autoEnroll)
    {
        if (state.RecordExists)
        {
            throw DeviceTrustException.AlreadyExists("this enrollment token exists already");
        }
        state.State = new EnrollTokenState
        {
            DeviceId = deviceId,
            Created = time.GetUtcNow(),
            Expires = expires,
            CreatedBy = createdBy,
            AutoEnroll = autoEnroll,
        };
        await state.WriteOrDeactivateAsync(DeactivateOnIdle);
    }

    public async Task<SpentToken> SpendAsync(bool spenderMayEnroll)
    {
        // One call at a time: of racing callers the first spends (and the write is durable before it returns),
        // every later one sees Spent.
        if (!state.RecordExists)
        {
            throw DeviceTrustException.PermissionDenied("invalid device enrollment token: unknown token");
        }
        if (state.State.Spent is not null)
        {
            throw DeviceTrustException.PermissionDenied("invalid device enrollment token: already spent");
        }
        if (time.GetUtcNow() >= state.State.Expires)
        {
            throw DeviceTrustException.PermissionDenied("invalid device enrollment token: expired");
        }
        if (state.State.AutoEnroll && !spenderMayEnroll)
        {
            // Checked before spending: the token stays usable by someone who may enroll.
            throw DeviceTrustException.PermissionDenied("invalid device enrollment token: an auto-enrollment token needs the device: enroll verb (role device-enroll)");
        }
        state.State.Spent = time.GetUtcNow();
        await state.WriteOrDeactivateAsync(DeactivateOnIdle);
        return new SpentToken(state.State.DeviceId, state.State.CreatedBy, state.State.AutoEnroll);
    }
}
