using DeviceTrust.Core.Roles;

namespace DeviceTrust.Core.Tests;

public class RoleEvaluationTests
{
    private static Role Named(string name) => PresetRoles.All.Single(r => r.Name == name);

    [Theory]
    [InlineData(PresetRoles.Editor, "user", "create", true)]
    [InlineData(PresetRoles.Editor, "role", "delete", true)]
    [InlineData(PresetRoles.Editor, "cluster_config", "update", true)]
    [InlineData(PresetRoles.Editor, "audit", "list", false)]
    [InlineData(PresetRoles.Auditor, "audit", "list", true)]
    [InlineData(PresetRoles.Auditor, "audit", "delete", false)]
    [InlineData(PresetRoles.Auditor, "user", "list", false)]
    [InlineData(PresetRoles.DeviceAdmin, "device", "create_enroll_token", true)]
    [InlineData(PresetRoles.DeviceAdmin, "user", "create", false)]
    [InlineData(PresetRoles.DeviceEnroll, "device", "enroll", true)]
    [InlineData(PresetRoles.DeviceEnroll, "device", "create", false)]
    [InlineData(PresetRoles.Access, "user", "list", false)]
    [InlineData(PresetRoles.RequireTrustedDevice, "device", "list", false)]
    public void Preset_roles_allow_exactly_their_verbs(string role, string resource, string verb, bool allowed) =>
        Assert.Equal(allowed, Named(role).Allows(resource, verb));

    [Fact]
    public void Any_role_of_the_set_allowing_the_verb_is_enough()
    {
        var roles = new[] { Named(PresetRoles.Access), Named(PresetRoles.Auditor) };
        Assert.True(RoleSet.Allows(roles, "audit", "read"));
        Assert.False(RoleSet.Allows(roles, "user", "read"));
    }

    [Fact]
    public void No_roles_allow_nothing() => Assert.False(RoleSet.Allows([], "user", "list"));

    [Fact]
    public void Wildcard_resource_and_verb_match_everything()
    {
        var role = RoleYaml.Parse("kind: role\nmetadata: {name: root}\nspec: {allow: {rules: {'*': ['*']}}}");
        Assert.True(role.Allows("lock", "delete"));
        Assert.True(role.Allows("device", "enroll"));
    }

    [Fact]
    public void Require_trusted_device_sets_the_role_option() =>
        Assert.Equal(Config.DeviceTrustMode.Required, Named(PresetRoles.RequireTrustedDevice).DeviceTrustMode);
}
