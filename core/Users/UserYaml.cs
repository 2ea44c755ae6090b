using DeviceTrust.Core.Errors;
using DeviceTrust.Core.Yaml;
using YamlDotNet.RepresentationModel;
using YamlDotNet.Serialization;

namespace DeviceTrust.Core.Users;

/// <summary>
/// A user as <c>dtctl users edit</c> shows it in <c>$EDITOR</c>: the roles can be changed, nothing else (the kind
/// and the name are shown for orientation; passwords and ids never appear).
/// <code>
/// kind: user
/// metadata: { name: bob }
/// spec: { kind: human, roles: [access] }
/// </code>
/// </summary>
public static class UserYaml
{
    public const int MaxBytes = 16 * 1024;

    public static string Write(string name, UserKind kind, IEnumerable<string> roles) =>
        new SerializerBuilder().Build().Serialize(new Dictionary<string, object>
        {
            ["kind"] = "user",
            ["metadata"] = new Dictionary<string, object> { ["name"] = name },
            ["spec"] = new Dictionary<string, object> { ["kind"] = kind == UserKind.Bot ? "bot" : "human", ["roles"] = roles.ToList() },
        });

    /// <summary>The roles of the edited document, which must still be about <paramref name="name"/> of <paramref name="kind"/>.</summary>
    public static IReadOnlyList<string> ParseRoles(string yaml, string name, UserKind kind)
    {
        var (root, fields) = StrictYaml.Document(yaml, "user", MaxBytes);
        var metadataNode = StrictYaml.Required(fields, root, "metadata");
        var metadata = StrictYaml.Fields(StrictYaml.AsMapping(metadataNode, "metadata"), "metadata", "name");
        var nameNode = StrictYaml.Required(metadata, metadataNode, "name");
        if (StrictYaml.Scalar(nameNode, "metadata.name") != name)
        {
            throw StrictYaml.Error(nameNode, $"metadata.name must stay \"{name}\": a user cannot be renamed");
        }
        var specNode = StrictYaml.Required(fields, root, "spec");
        var spec = StrictYaml.Fields(StrictYaml.AsMapping(specNode, "spec"), "spec", "kind", "roles");
        if (spec.TryGetValue("kind", out var kindNode) && StrictYaml.Scalar(kindNode, "spec.kind") != (kind == UserKind.Bot ? "bot" : "human"))
        {
            throw StrictYaml.Error(kindNode, "spec.kind cannot be changed: a bot stays a bot and a human a human");
        }
        var roles = spec.TryGetValue("roles", out var rolesNode) && rolesNode is not YamlScalarNode { Value: null or "" }
            ? StrictYaml.StringList(rolesNode, "spec.roles").Select(r => r.Value).ToList()
            : [];
        return roles;
    }
}
