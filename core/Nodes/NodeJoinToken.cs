using System.Text;
using DeviceTrust.Core.Errors;
using DeviceTrust.Core.Secrets;

namespace DeviceTrust.Core.Nodes;

/// <summary>
/// What <c>dtctl nodes add</c> hands the operator of a new node in one string: the node's name, the one-time secret,
/// and the pin of the cluster CA, so <c>dtnode join</c> verifies the gateway on its very first connection.
/// Form: <c>dtjoin1.</c> + base64url("name\nsecret\nsha256:hex"). Only SHA-256 of the secret is stored.
/// </summary>
public sealed record NodeJoinToken(string Node, string Secret, string CaPin)
{
    private const string Prefix = "dtjoin1.";
    private const int MaxLength = 512;

    public override string ToString() => Encode();

    public string Encode() => Prefix + Base64Url.Encode(Encoding.UTF8.GetBytes($"{Node}\n{Secret}\n{CaPin}"));

    public static NodeJoinToken Decode(string? text)
    {
        const string Invalid = "the join token is malformed: copy the whole token printed by dtctl nodes add";
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
        if (parts.Length != 3 || !NodeName.IsValid(parts[0]) || !SecretToken.LooksValid(parts[1]))
        {
            throw DeviceTrustException.InvalidArgument(Invalid);
        }
        Certificates.CaPin.Parse(parts[2]);
        return new NodeJoinToken(parts[0], parts[1], parts[2]);
    }
}
