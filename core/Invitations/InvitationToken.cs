using DeviceTrust.Core.Secrets;
using DeviceTrust.Core.Users;

namespace DeviceTrust.Core.Invitations;

/// <summary>
/// What an invitation hands a new user in one string: who they are, the one-time secret, and the pin of the
/// cluster CA, so their very first connection to the gateway is verified (there is no "insecure" switch).
/// Form: <c>dtinv1.</c> + base64url("user\nsecret\nsha256:hex"). Only SHA-256 of the secret is stored.
/// </summary>
public sealed record InvitationToken(string User, string Secret, string CaPin)
{
    private const string Prefix = "dtinv1.";

    public override string ToString() => Encode();

    public string Encode() => PinnedSecretToken.Encode(Prefix, User, Secret, CaPin);

    public static InvitationToken Decode(string? text)
    {
        var (user, secret, pin) = PinnedSecretToken.Decode(text, Prefix, UserName.IsValid,
            "the invitation token is malformed: copy the whole token printed by dtctl users add");
        return new InvitationToken(user, secret, pin);
    }
}
