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

    public override string ToString() => Encode();

    public string Encode() => PinnedSecretToken.Encode(Prefix, Node, Secret, CaPin);

    public static NodeJoinToken Decode(string? text)
    {
        var (node, secret, pin) = PinnedSecretToken.Decode(text, Prefix, NodeName.IsValid,
            "the join token is malformed: copy the whole token printed by dtctl nodes add");
        return new NodeJoinToken(node, secret, pin);
    }
}
