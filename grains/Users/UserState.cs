using DeviceTrust.Core.Users;

namespace DeviceTrust.Grains.Users;

/// <summary>The stored user record (JSON in the grain state table).</summary>
public sealed class UserState
{
    public string? Name { get; set; }
    /// <summary>Immutable and random, made at creation: what certificates and device ownership refer to, never the name.</summary>
    public Guid Id { get; set; }
    /// <summary>Raised when an administrator resets the user: certificates of an older generation stop working.</summary>
    public long Generation { get; set; } = 1;
    public UserKind Kind { get; set; }
    public List<string> Roles { get; set; } = [];
    public string? PasswordHash { get; set; }
    /// <summary>SHA-256 of the outstanding invitation's secret; never the secret.</summary>
    public byte[]? InviteHash { get; set; }
    public DateTimeOffset? InviteExpires { get; set; }
    /// <summary>SHA-256 of the last spent invitation, so reusing it gets a clear error instead of a generic one.</summary>
    public byte[]? SpentInviteHash { get; set; }
    public DateTimeOffset Created { get; set; }
    public DateTimeOffset Updated { get; set; }

    public bool Exists => Name is not null;

    public UserView ToView() =>
        new(Name!, Kind, Roles.ToList(), Created, Updated, PasswordHash is not null, InviteHash is null ? null : InviteExpires, Id, Generation);
}
