using System.Text;
using DeviceTrust.Core.Certificates;
using DeviceTrust.Core.Errors;
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
    private const int MaxLength = 512;

    public override string ToString() => Encode();

    public string Encode() => Prefix + Base64Url.Encode(Encoding.UTF8.GetBytes($"{User}\n{Secret}\n{CaPin}"));

    public static InvitationToken Decode(string? text)
    {
        const string Invalid = "the invitation token is malformed: copy the whole token printed by dtctl users add";
        if (text is null || text.Length > MaxLength || !text.StartsWith(Prefix, StringComparison.Ordinal)
            || !Base64Url.TryDecode(text[Prefix.Length..], out var bytes))
        {
            throw DeviceTrustException.InvalidArgument(Invalid);
        }
        string[] parts;
        try
        {
            parts = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes).Split('\n');
        }
        catch (DecoderFallbackException)
        {
            throw DeviceTrustException.InvalidArgument(Invalid);
        }
        if (parts.Length != 3 || !UserName.IsValid(parts[0]) || !SecretToken.LooksValid(parts[1]))
        {
            throw DeviceTrustException.InvalidArgument(Invalid);
        }
        Certificates.CaPin.Parse(parts[2]);
        return new InvitationToken(parts[0], parts[1], parts[2]);
    }
}
