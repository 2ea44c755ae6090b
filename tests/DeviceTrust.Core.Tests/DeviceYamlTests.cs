using DeviceTrust.Core.Devices;
using DeviceTrust.Core.Errors;

namespace DeviceTrust.Core.Tests;

public class DeviceYamlTests
{
    private static readonly DeviceYaml.Document Alice = new("C02ABC", "5f0c0000-0000-0000-0000-000000000001", "macos", DeviceYaml.Enrolled, "alice",
        ["bob"], "", new DeviceYaml.DeviceProfileFields("MacBookPro18,3", "14.5", "23F79", ""));

    [Fact]
    public void A_written_device_parses_back_unchanged_and_edits_of_what_may_change_come_through()
    {
        var yaml = DeviceYaml.Write(Alice);
        Assert.Equal(Alice with { }, DeviceYaml.Parse(yaml, Alice), new DocumentComparer());
        var edited = DeviceYaml.Parse(yaml.Replace("enroll_status: enrolled", "enroll_status: not_enrolled", StringComparison.Ordinal)
            .Replace("- bob", "- carol", StringComparison.Ordinal).Replace("os_build: 23F79", "os_build: 23G80", StringComparison.Ordinal), Alice);
        Assert.Equal(DeviceYaml.NotEnrolled, edited.EnrollStatus);
        Assert.Equal(["carol"], edited.Users);
        Assert.Equal("23G80", edited.Profile.OsBuild);
        // Fields left out keep what they were (the profile is all or nothing: absent fields of it are empty).
        var minimal = DeviceYaml.Parse("kind: device\nmetadata: {asset_tag: C02ABC}\nspec: {}\n", Alice);
        Assert.Equal((DeviceYaml.Enrolled, "", Alice.Profile), (minimal.EnrollStatus, minimal.EkSha256, minimal.Profile));
        Assert.Empty(minimal.Users);
    }

    [Theory]
    [InlineData("kind: device\nmetadata: {asset_tag: OTHER}\nspec: {}\n", 2, "metadata.asset_tag cannot be changed (it is \"C02ABC\")")]
    [InlineData("kind: device\nmetadata: {id: x}\nspec: {}\n", 2, "metadata.id cannot be changed")]
    [InlineData("kind: device\nmetadata: {}\nspec: {os_type: linux}\n", 3, "spec.os_type cannot be changed (it is \"macos\")")]
    [InlineData("kind: device\nmetadata: {}\nspec: {owner: mallory}\n", 3, "spec.owner cannot be changed (it is \"alice\")")]
    [InlineData("kind: device\nmetadata: {}\nspec: {enroll_status: revoked}\n", 3, "spec.enroll_status must be enrolled or not_enrolled")]
    [InlineData("kind: device\nmetadata: {}\nspec: {users: bob}\n", 3, "spec.users must be a list")]
    [InlineData("kind: device\nmetadata: {}\nspec: {profile: {serial: x}}\n", 3, "unknown field \"serial\" in spec.profile")]
    [InlineData("kind: user\nmetadata: {}\nspec: {}\n", 1, "kind must be \"device\"")]
    [InlineData("kind: device\nmetadata: {}\n", 1, "field \"spec\" is required")]
    public void Edits_of_what_may_not_change_are_refused_with_the_line_and_the_reason(string yaml, int line, string reason)
    {
        var error = Assert.Throws<DeviceTrustException>(() => DeviceYaml.Parse(yaml, Alice));
        Assert.Equal(ErrorKind.InvalidArgument, error.Kind);
        Assert.StartsWith($"line {line}: ", error.Message);
        Assert.Contains(reason, error.Message);
    }

    [Fact]
    public void A_not_enrolled_device_cannot_be_edited_into_enrolled_and_oversized_edits_are_refused()
    {
        var notEnrolled = Alice with { EnrollStatus = DeviceYaml.NotEnrolled, Owner = "" };
        Assert.Contains("a device enrolls only through its enrollment ceremony",
            Assert.Throws<DeviceTrustException>(() => DeviceYaml.Parse("kind: device\nmetadata: {}\nspec: {enroll_status: enrolled}\n", notEnrolled)).Message);
        Assert.Contains("larger than 16 KiB",
            Assert.Throws<DeviceTrustException>(() => DeviceYaml.Parse(new string('#', DeviceYaml.MaxBytes + 1), Alice)).Message);
    }

    private sealed class DocumentComparer : IEqualityComparer<DeviceYaml.Document>
    {
        public bool Equals(DeviceYaml.Document? x, DeviceYaml.Document? y) =>
            x! with { Users = [] } == y! with { Users = [] } && x.Users.SequenceEqual(y.Users);

        public int GetHashCode(DeviceYaml.Document obj) => obj.AssetTag.GetHashCode(StringComparison.Ordinal);
    }
}
