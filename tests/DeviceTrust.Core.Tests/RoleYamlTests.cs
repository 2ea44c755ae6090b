using DeviceTrust.Core.Config;
using DeviceTrust.Core.Errors;
using DeviceTrust.Core.Roles;

namespace DeviceTrust.Core.Tests;

public class RoleYamlTests
{
    private const string Valid = """
        kind: role
        version: v1
        metadata:
          name: support
          description: Helps people
        spec:
          options:
            device_trust_mode: required
          allow:
            logins: [ubuntu, root]
            node_labels:
              env: [staging, dev]
            rules:
              user: [list, read]
              device: [list]
        """;

    [Fact]
    public void A_valid_role_parses_with_every_field()
    {
        var role = RoleYaml.Parse(Valid);
        Assert.Equal("support", role.Name);
        Assert.Equal("Helps people", role.Description);
        Assert.Equal(DeviceTrustMode.Required, role.DeviceTrustMode);
        Assert.Equal(["ubuntu", "root"], role.Logins);
        Assert.Equal(["staging", "dev"], role.NodeLabels["env"]);
        Assert.True(role.Allows("user", "read"));
        Assert.False(role.Allows("user", "delete"));
    }

    [Fact]
    public void Written_roles_parse_back_to_the_same_role()
    {
        foreach (var role in PresetRoles.All.Append(RoleYaml.Parse(Valid)))
        {
            var again = RoleYaml.Parse(RoleYaml.Write(role));
            Assert.Equal(role.Name, again.Name);
            Assert.Equal(role.DeviceTrustMode, again.DeviceTrustMode);
            Assert.Equal(role.Logins, again.Logins);
            Assert.Equal(role.Rules.Keys.Order(), again.Rules.Keys.Order());
            foreach (var (resource, verbs) in role.Rules)
            {
                Assert.Equal(verbs, again.Rules[resource]);
            }
        }
    }

    [Theory]
    [InlineData("kind: role\nmetadata:\n  name: x\nspec:\n  allow:\n    rules:\n      user: [lst]\n", 7, "unknown verb \"lst\" for resource user")]
    [InlineData("kind: role\nmetadata:\n  name: x\nspec:\n  allow:\n    rules:\n      users: [list]\n", 7, "unknown resource \"users\"")]
    [InlineData("kind: role\nmetadata:\n  name: x\nspec:\n  alow: {}\n", 5, "unknown field \"alow\" in spec")]
    [InlineData("kind: role\nmetadata:\n  name: x\nspec:\n  options:\n    device_trust_mode: always\n", 6, "device_trust_mode \"always\" is unknown")]
    [InlineData("kind: role\nmetadata:\n  name: Bad Name\n", 3, "metadata.name \"Bad Name\" is invalid")]
    [InlineData("kind: user\nmetadata:\n  name: x\n", 1, "kind must be \"role\"")]
    [InlineData("kind: role\nmetadata:\n  name: x\nspec:\n  allow:\n    logins: root\n", 6, "logins must be a list")]
    [InlineData("kind: role\nmetadata:\n  name: x\nspec:\n  allow:\n    logins: [root, \"a b\"]\n", 6, "login \"a b\" is not a Unix user name")]
    [InlineData("kind: role\nmetadata:\n  name: x\nspec:\n  allow:\n    logins:\n      - -oProxyCommand\n", 7, "login \"-oProxyCommand\" is not a Unix user name")]
    [InlineData("kind: role\nmetadata: [\n", 3, "")]
    public void Malformed_roles_are_refused_with_the_line_and_the_reason(string yaml, int line, string reason)
    {
        var error = Assert.Throws<DeviceTrustException>(() => RoleYaml.Parse(yaml));
        Assert.Equal(ErrorKind.InvalidArgument, error.Kind);
        Assert.StartsWith($"line {line}: ", error.Message);
        Assert.Contains(reason, error.Message);
    }

    [Fact]
    public void A_missing_name_is_refused()
    {
        var error = Assert.Throws<DeviceTrustException>(() => RoleYaml.Parse("kind: role\nmetadata:\n  description: x\n"));
        Assert.Contains("field \"name\" is required", error.Message);
    }

    [Fact]
    public void Oversized_documents_are_refused_before_parsing()
    {
        var error = Assert.Throws<DeviceTrustException>(() => RoleYaml.Parse(new string('#', RoleYaml.MaxBytes + 1)));
        Assert.Contains("larger than", error.Message);
    }

    [Fact]
    public void Label_maps_for_every_kind_of_resource_parse_and_write_back()
    {
        var role = RoleYaml.Parse("""
            kind: role
            metadata: {name: web}
            spec:
              allow:
                app_labels: {team: [web, ops]}
                db_labels: {'*': '*'}
                kube_labels: {env: prod}
                desktop_labels: {os: windows}
            """);
        Assert.Equal(["web", "ops"], role.LabelsFor(Access.ResourceKind.App)["team"]);
        Assert.Equal(["*"], role.LabelsFor(Access.ResourceKind.Db)["*"]);
        Assert.Equal(["prod"], role.LabelsFor(Access.ResourceKind.Kube)["env"]);
        Assert.Equal(["windows"], role.LabelsFor(Access.ResourceKind.Desktop)["os"]);
        Assert.Empty(role.LabelsFor(Access.ResourceKind.Ssh));
        var again = RoleYaml.Parse(RoleYaml.Write(role));
        Assert.Equal(RoleYaml.Write(role), RoleYaml.Write(again));
        Assert.Equal(["web", "ops"], again.AppLabels["team"]);
    }
}
