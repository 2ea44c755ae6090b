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
    Task<UserView> SetRolesAsync(IReadOnlyList<string> roles);

    /// <summary>Issues a new invitation, replacing any outstanding one.</summary>
    [Alias("ResetInvitation")]
    Task<UserView> ResetInvitationAsync(byte[] inviteHash, DateTimeOffset inviteExpires);

    [Alias("Delete")]
    Task DeleteAsync();

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
    [property: Id(6)] DateTimeOffset? InviteExpires);

[GenerateSerializer, Immutable, Alias("dt.LoginRecord")]
public sealed record LoginRecord(
    [property: Id(0)] UserView User,
    [property: Id(1)] string? PasswordHash);
