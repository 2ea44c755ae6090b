using DeviceTrust.Core.Users;

namespace DeviceTrust.Grains.Users;

/// <summary>One user, keyed by user name: roles, kind, password hash, outstanding invitation.</summary>
[Alias("dt.IUserGrain")]
public interface IUserGrain : IGrainWithStringKey
{
    /// <summary>Creates the user with an invitation (only SHA-256 of its secret). AlreadyExists when the user exists.</summary>
    [Alias("Create")]
    Task<UserView> CreateAsync(UserKind kind, IReadOnlyList<string> roles, byte[] inviteHash, DateTimeOffset inviteExpires);

    [Alias("Get")]
    Task<UserView?> GetAsync();

    [Alias("SetRoles")]
    Task<UserChange> SetRolesAsync(IReadOnlyList<string> roles);

    /// <summary>
    /// Resets the user's credentials: clears the password, issues a new invitation in place of any outstanding one,
    /// and raises the credential generation, so every certificate issued to the user before stops working.
    /// </summary>
    [Alias("Reset")]
    Task<UserChange> ResetAsync(byte[] inviteHash, DateTimeOffset inviteExpires);

    /// <summary>Removes the user; returns what was removed.</summary>
    [Alias("Delete")]
    Task<UserView> DeleteAsync();

    /// <summary>
    /// The checks of <see cref="AcceptInvitationAsync"/> without spending anything, so the gateway refuses a bad
    /// invitation before it spends a password hash on it.
    /// </summary>
    [Alias("CheckInvitation")]
    Task CheckInvitationAsync(byte[] secretHash);

    /// <summary>Spends the invitation whose secret hashes to <paramref name="secretHash"/> and sets the password hash.</summary>
    [Alias("AcceptInvitation")]
    Task<UserView> AcceptInvitationAsync(byte[] secretHash, string passwordHash);

    /// <summary>What the gateway needs to check a password: null when the user does not exist.</summary>
    [Alias("GetLoginRecord")]
    Task<LoginRecord?> GetLoginRecordAsync();
}

[GenerateSerializer, Immutable, Alias("dt.UserView")]
public sealed record UserView(
    [property: Id(0)] string Name,
    [property: Id(1)] UserKind Kind,
    [property: Id(2)] IReadOnlyList<string> Roles,
    [property: Id(3)] DateTimeOffset Created,
    [property: Id(4)] DateTimeOffset Updated,
    [property: Id(5)] bool HasPassword,
    [property: Id(6)] DateTimeOffset? InviteExpires,
    [property: Id(7)] Guid Id,
    [property: Id(8)] long Generation);

/// <summary>A user before and after a change, for the audit log.</summary>
[GenerateSerializer, Immutable, Alias("dt.UserChange")]
public sealed record UserChange([property: Id(0)] UserView Before, [property: Id(1)] UserView After);

[GenerateSerializer, Immutable, Alias("dt.LoginRecord")]
public sealed record LoginRecord(
    [property: Id(0)] UserView User,
    [property: Id(1)] string? PasswordHash);
