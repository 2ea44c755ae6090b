using DeviceTrust.Core.Errors;
using DeviceTrust.Core.Users;

namespace DeviceTrust.Core.Tests;

public class UserYamlTests
{
    [Fact]
    public void A_written_user_parses_back_to_its_roles()
    {
        var yaml = UserYaml.Write("bob", UserKind.Human, ["access", "auditor"]);
        Assert.Equal(["access", "auditor"], UserYaml.ParseRoles(yaml, "bob", UserKind.Human));
        Assert.Empty(UserYaml.ParseRoles(UserYaml.Write("ci", UserKind.Bot, []), "ci", UserKind.Bot));
        Assert.Empty(UserYaml.ParseRoles("kind: user\nmetadata: {name: bob}\nspec:\n  roles:\n", "bob", UserKind.Human));
    }

    [Theory]
    [InlineData("kind: user\nmetadata: {name: eve}\nspec: {roles: [editor]}\n", 2, "metadata.name must stay \"bob\": a user cannot be renamed")]
    [InlineData("kind: user\nmetadata: {name: bob}\nspec: {kind: bot, roles: []}\n", 3, "spec.kind cannot be changed")]
    [InlineData("kind: user\nmetadata: {name: bob}\nspec: {roles: [access], password: x}\n", 3, "unknown field \"password\" in spec")]
    [InlineData("kind: role\nmetadata: {name: bob}\nspec: {roles: []}\n", 1, "kind must be \"user\"")]
    [InlineData("kind: user\nmetadata: {name: bob}\nspec: {roles: access}\n", 3, "spec.roles must be a list")]
    [InlineData("kind: user\nmetadata: {name: bob}\nspec: {roles: [&a access, *a]}\n", 3, "are not allowed in user documents")]
    [InlineData("kind: user\nmetadata: {name: bob}\n", 1, "field \"spec\" is required")]
    [InlineData("kind: user\nmetadata: [\n", 3, "")]
    public void Edits_that_do_more_than_change_roles_are_refused_with_the_line_and_the_reason(string yaml, int line, string reason)
    {
        var error = Assert.Throws<DeviceTrustException>(() => UserYaml.ParseRoles(yaml, "bob", UserKind.Human));
        Assert.Equal(ErrorKind.InvalidArgument, error.Kind);
        Assert.StartsWith($"line {line}: ", error.Message);
        Assert.Contains(reason, error.Message);
    }

    [Fact]
    public void Oversized_and_multi_document_edits_are_refused()
    {
        Assert.Contains("larger than 16 KiB",
            Assert.Throws<DeviceTrustException>(() => UserYaml.ParseRoles(new string('#', UserYaml.MaxBytes + 1), "bob", UserKind.Human)).Message);
        Assert.Contains("exactly one YAML document",
            Assert.Throws<DeviceTrustException>(() => UserYaml.ParseRoles("kind: user\n---\nkind: user\n", "bob", UserKind.Human)).Message);
    }
}
