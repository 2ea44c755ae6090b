using DeviceTrust.Core.Invitations;
using DeviceTrust.Core.Secrets;

namespace DeviceTrust.Gateway.Hosting;

/// <summary>A freshly minted invitation: the token to show once, and the hash and expiry to store.</summary>
public sealed record NewInvitation(InvitationToken Token, byte[] SecretHash, DateTimeOffset Expires)
{
    public static readonly TimeSpan DefaultTtl = TimeSpan.FromHours(1);
    public static readonly TimeSpan MaxTtl = TimeSpan.FromDays(7);

    public static NewInvitation For(string user, string caPin, DateTimeOffset now, TimeSpan ttl)
    {
        var secret = SecretToken.New();
        return new NewInvitation(new InvitationToken(user, secret, caPin), SecretToken.Hash(secret), now + ttl);
    }
}
