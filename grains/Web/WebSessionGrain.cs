using DeviceTrust.Core.Errors;

namespace DeviceTrust.Grains.Web;

public sealed class WebSessionState
{
    public string UserId { get; set; } = "";
    public string UserName { get; set; } = "";
    public string ClientIp { get; set; } = "";
    public DateTimeOffset Started { get; set; }
    public DateTimeOffset Expires { get; set; }
    public TimeSpan IdleTimeout { get; set; }
    /// <summary>The last use as last written; the activation keeps the exact one in memory.</summary>
    public DateTimeOffset LastSeen { get; set; }
    public WebSessionDevice? Device { get; set; }
}

public sealed class WebSessionGrain(
    [PersistentState(StateNames.WebSession, StateNames.Storage)] IPersistentState<WebSessionState> state,
    TimeProvider time) : Grain, IWebSessionGrain
{
    private DateTimeOffset _lastSeen;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _lastSeen = state.State.LastSeen;
        return Task.CompletedTask;
    }

    public async Task<WebSessionView> StartAsync(WebSessionStart start)
    {
        if (state.RecordExists)
        {
            throw DeviceTrustException.AlreadyExists("this web session exists already");
        }
        var now = time.GetUtcNow();
        state.State = new WebSessionState
        {
            UserId = start.UserId,
            UserName = start.UserName,
            ClientIp = start.ClientIp,
            Started = now,
            Expires = now + start.Lifetime,
            IdleTimeout = start.IdleTimeout,
            LastSeen = now,
        };
        _lastSeen = now;
        await state.WriteOrDeactivateAsync(DeactivateOnIdle);
        return View();
    }

    public async Task<WebSessionView?> TouchAsync()
    {
        if (!await LiveAsync())
        {
            return null;
        }
        var now = time.GetUtcNow();
        _lastSeen = now;
        // Writing every use would put a database write on every page; a tenth of the idle timeout is written at most
        // that late. If this activation is lost in between, the session expires that much early, never late.
        if (now - state.State.LastSeen >= state.State.IdleTimeout / 10)
        {
            state.State.LastSeen = now;
            await state.WriteOrDeactivateAsync(DeactivateOnIdle);
        }
        return View();
    }

    public async Task<WebSessionView> TrustDeviceAsync(WebSessionDevice device)
    {
        if (!await LiveAsync())
        {
            throw DeviceTrustException.FailedPrecondition("the web session has ended: log in again");
        }
        state.State.Device = device;
        state.State.LastSeen = _lastSeen = time.GetUtcNow();
        await state.WriteOrDeactivateAsync(DeactivateOnIdle);
        return View();
    }

    /// <summary>Whether there is a session that is neither idle past its timeout nor past its lifetime; an expired one is removed.</summary>
    private async Task<bool> LiveAsync()
    {
        if (!state.RecordExists)
        {
            return false;
        }
        var now = time.GetUtcNow();
        if (now < state.State.Expires && now - _lastSeen < state.State.IdleTimeout)
        {
            return true;
        }
        await state.ClearStateAsync();
        return false;
    }

    public async Task<bool> EndAsync()
    {
        if (!await LiveAsync())
        {
            return false;
        }
        await state.ClearStateAsync();
        return true;
    }

    private WebSessionView View() =>
        new(state.State.UserId, state.State.UserName, state.State.ClientIp, state.State.Started, state.State.Expires) { Device = state.State.Device };
}
