using System.Security.Cryptography;
using DeviceTrust.Core.Errors;
using DeviceTrust.Core.Users;
using DeviceTrust.Grains.Roles;

namespace DeviceTrust.Grains.Users;

public sealed class UserGrain(
    [PersistentState(StateNames.User, StateNames.Storage)] IPersistentState<UserState> state,
    IGrainFactory grains,
    TimeProvider time) : Grain, IUserGrain
{
    private string Name => this.GetPrimaryKeyString();

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        // Users stored before ids existed get one now, once; their old certificates carry none and need a new login.
        if (state.State.Exists && state.State.Id == Guid.Empty)
        {
            state.State.Id = Guid.NewGuid();
            state.State.Generation = Math.Max(1, state.State.Generation);
            await state.WriteStateAsync(cancellationToken);
        }
    }

    public async Task<UserView> CreateAsync(UserKind kind, IReadOnlyList<string> roles, byte[] inviteHash, DateTimeOffset inviteExpires)
    {
        UserName.Validate(Name);
        if (state.State.Exists)
        {
            throw DeviceTrustException.AlreadyExists($"user \"{Name}\" already exists");
        }
        await EnsureRolesExistAsync(roles);
        var now = time.GetUtcNow();
        state.State = new UserState
        {
            Name = Name,
            Id = Guid.NewGuid(),
            Generation = 1,
            Kind = kind,
            Roles = roles.Distinct().ToList(),
            InviteHash = inviteHash,
            InviteExpires = inviteExpires,
            Created = now,
            Updated = now,
        };
        await state.WriteOrDeactivateAsync(DeactivateOnIdle);
        return state.State.ToView();
    }

    public Task<UserView?> GetAsync() => Task.FromResult(state.State.Exists ? state.State.ToView() : null);

    public async Task<UserChange> SetRolesAsync(IReadOnlyList<string> roles)
    {
        EnsureExists();
        await EnsureRolesExistAsync(roles);
        var before = state.State.ToView();
        state.State.Roles = roles.Distinct().ToList();
        state.State.Updated = time.GetUtcNow();
        await state.WriteOrDeactivateAsync(DeactivateOnIdle);
        return new UserChange(before, state.State.ToView());
    }

    public async Task<UserChange> ResetAsync(byte[] inviteHash, DateTimeOffset inviteExpires)
    {
        EnsureExists();
        var before = state.State.ToView();
        state.State.PasswordHash = null;
        state.State.InviteHash = inviteHash;
        state.State.InviteExpires = inviteExpires;
        state.State.Generation++;
        state.State.Updated = time.GetUtcNow();
        await state.WriteOrDeactivateAsync(DeactivateOnIdle);
        return new UserChange(before, state.State.ToView());
    }

    public async Task<UserView> DeleteAsync()
    {
        EnsureExists();
        var removed = state.State.ToView();
        await state.ClearStateAsync();
        state.State = new UserState();
        return removed;
    }

    public Task CheckInvitationAsync(byte[] secretHash)
    {
        EnsureInvitation(secretHash);
        return Task.CompletedTask;
    }

    public async Task<UserView> AcceptInvitationAsync(byte[] secretHash, string passwordHash)
    {
        EnsureInvitation(secretHash);
        var user = state.State;
        user.PasswordHash = passwordHash;
        user.SpentInviteHash = user.InviteHash;
        user.InviteHash = null;
        user.InviteExpires = null;
        user.Updated = time.GetUtcNow();
        await state.WriteOrDeactivateAsync(DeactivateOnIdle);
        return user.ToView();
    }

    private void EnsureInvitation(byte[] secretHash)
    {
        var user = state.State;
        if (!user.Exists)
        {
            throw DeviceTrustException.NotFound("the invitation is not valid: no such user");
        }
        if (user.InviteHash is null || !CryptographicOperations.FixedTimeEquals(user.InviteHash, secretHash))
        {
            throw user.SpentInviteHash is not null && CryptographicOperations.FixedTimeEquals(user.SpentInviteHash, secretHash)
                ? DeviceTrustException.FailedPrecondition("the invitation has already been used: log in with your password")
                : DeviceTrustException.PermissionDenied("the invitation is not valid: it was replaced or never issued");
        }
        if (user.InviteExpires is not { } expires || time.GetUtcNow() >= expires)
        {
            throw DeviceTrustException.FailedPrecondition("the invitation has expired: ask an administrator for a new one");
        }
    }

    public Task<LoginRecord?> GetLoginRecordAsync() =>
        Task.FromResult(state.State.Exists ? new LoginRecord(state.State.ToView(), state.State.PasswordHash) : null);

    private void EnsureExists()
    {
        if (!state.State.Exists)
        {
            throw DeviceTrustException.NotFound($"user \"{UserName.Printable(Name)}\" not found");
        }
    }

    private async Task EnsureRolesExistAsync(IReadOnlyList<string> roles)
    {
        var missing = await grains.GetGrain<IRoleRegistryGrain>(RoleRegistryGrain.Key).FindMissingAsync(roles);
        if (missing.Count > 0)
        {
            throw DeviceTrustException.InvalidArgument($"unknown role(s): {string.Join(", ", missing)}");
        }
    }
}
