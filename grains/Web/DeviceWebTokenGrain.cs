using DeviceTrust.Core.Errors;

namespace DeviceTrust.Grains.Web;

public sealed class DeviceWebTokenState
{
    public DeviceWebToken? Token { get; set; }
    public DateTimeOffset? Spent { get; set; }
}

public sealed class DeviceWebTokenGrain(
    [PersistentState(StateNames.DeviceWebToken, StateNames.Storage)] IPersistentState<DeviceWebTokenState> state,
    TimeProvider time) : Grain, IDeviceWebTokenGrain
{
    public async Task CreateAsync(DeviceWebToken token)
    {
        if (state.RecordExists)
        {
            throw DeviceTrustException.AlreadyExists("this device web token exists already");
        }
        state.State = new DeviceWebTokenState { Token = token };
        await state.WriteOrDeactivateAsync(DeactivateOnIdle);
    }

    public async Task<DeviceWebToken> SpendAsync(DeviceWebTokenKind kind, string userId)
    {
        var what = kind == DeviceWebTokenKind.WebToken ? "invalid device web token" : "invalid device web confirmation";
        // One call at a time: of racing spenders the first wins (durably, before it returns); the others see Spent.
        if (!state.RecordExists || state.State.Token is not { } token || token.Kind != kind)
        {
            throw DeviceTrustException.PermissionDenied($"{what}: unknown");
        }
        if (state.State.Spent is not null)
        {
            throw DeviceTrustException.PermissionDenied($"{what}: already used");
        }
        if (time.GetUtcNow() >= token.Expires)
        {
            throw DeviceTrustException.PermissionDenied($"{what}: expired");
        }
        if (token.UserId != userId)
        {
            throw DeviceTrustException.PermissionDenied($"{what}: issued to another user ({token.UserName})");
        }
        state.State.Spent = time.GetUtcNow();
        await state.WriteOrDeactivateAsync(DeactivateOnIdle);
        return token;
    }
}
