using DeviceTrust.Core.Errors;
using DeviceTrust.Core.Nodes;
using DeviceTrust.Core.Secrets;

namespace DeviceTrust.Core.Tests;

/// <summary>What a node's name, labels, address and join token may be: they come from operators and from the network.</summary>
public sealed class NodeFieldsTests
{
    private static string Refused(Action action)
    {
        var error = Assert.Throws<DeviceTrustException>(action);
        Assert.Equal(ErrorKind.InvalidArgument, error.Kind);
        return error.Message;
    }

    [Theory]
    [InlineData("web-1")]
    [InlineData("db.prod.example.com")]
    [InlineData("a")]
    public void Host_like_names_are_node_names(string name) => Assert.Equal(name, NodeName.Validate(name));

    [Theory]
    [InlineData("Web-1")]
    [InlineData("-web")]
    [InlineData("web-")]
    [InlineData("web_1")]
    [InlineData("a..b")]
    [InlineData("web 1")]
    public void Other_names_are_refused(string name) =>
        Assert.StartsWith($"node name \"{name}\" is invalid", Refused(() => NodeName.Validate(name)));

    [Fact]
    public void Labels_read_back_as_written_and_bad_ones_are_refused()
    {
        var labels = NodeLabels.Parse("team=web, env=prod");
        Assert.Equal("env=prod,team=web", NodeLabels.Format(labels));
        Assert.Equal("label \"env\" is not name=value", Refused(() => NodeLabels.Parse("env")));
        Assert.Equal("label env is given twice", Refused(() => NodeLabels.Parse("env=a,env=b")));
        Assert.StartsWith("label name \"e v\" is invalid", Refused(() => NodeLabels.Parse("e v=1")));
        Assert.StartsWith("the value of label env is invalid", Refused(() => NodeLabels.Validate([KeyValuePair.Create("env", "a\nb")])));
        Assert.Equal($"a node has at most {NodeLabels.MaxLabels} labels",
            Refused(() => NodeLabels.Validate(Enumerable.Range(0, 33).Select(i => KeyValuePair.Create($"k{i}", "v")))));
    }

    [Theory]
    [InlineData("127.0.0.1:22", "127.0.0.1", 22)]
    [InlineData("Web-1.Example.com:2222", "web-1.example.com", 2222)]
    [InlineData("[::1]:22", "::1", 22)]
    public void Addresses_are_host_and_port(string address, string host, int port) => Assert.Equal((host, port), NodeAddress.Parse(address, "address"));

    [Theory]
    [InlineData("web-1")]
    [InlineData("web-1:0")]
    [InlineData("web-1:70000")]
    [InlineData("-x:22")]
    [InlineData("a b:22")]
    [InlineData(":22")]
    public void Other_addresses_are_refused(string address) =>
        Assert.StartsWith($"address \"{address}\" is not host:port", Refused(() => NodeAddress.Parse(address, "address")));

    [Fact]
    public void A_join_token_carries_the_node_the_secret_and_the_pin()
    {
        var pin = "sha256:" + new string('a', 64);
        var token = new NodeJoinToken("web-1", SecretToken.New(), pin);
        Assert.Equal(token, NodeJoinToken.Decode(token.Encode()));
        var malformed = "the join token is malformed: copy the whole token printed by dtctl nodes add";
        Assert.Equal(malformed, Refused(() => NodeJoinToken.Decode("dtinv1." + token.Encode()[8..])));
        Assert.Equal(malformed, Refused(() => NodeJoinToken.Decode(new NodeJoinToken("Web 1", token.Secret, pin).Encode())));
        Assert.Equal(malformed, Refused(() => NodeJoinToken.Decode(token.Encode() + new string('A', 600))));
    }
}
