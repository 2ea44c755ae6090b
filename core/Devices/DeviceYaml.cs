using DeviceTrust.Core.Errors;
using DeviceTrust.Core.Yaml;
using YamlDotNet.RepresentationModel;
using YamlDotNet.Serialization;

namespace DeviceTrust.Core.Devices;

/// <summary>
/// A device as <c>dtctl devices edit</c> shows it in <c>$EDITOR</c> (like <c>tctl edit device/TAG</c>). What may
/// change: <c>enroll_status</c> to <c>not_enrolled</c> (removes the credential), the users who may also authenticate
/// with it, the pinned EK, and the MDM profile. The rest is shown for orientation and must stay as it is.
/// <code>
/// kind: device
/// metadata: { asset_tag: C02ABC, id: 5f0c… }
/// spec:
///   os_type: macos
///   enroll_status: enrolled
///   owner: alice
///   users: [bob]
///   ek_sha256: ""
///   profile: { model_identifier: MacBookPro18,3, os_version: "14.5", os_build: 23F79, os_build_supplemental: "" }
/// </code>
/// </summary>
public static class DeviceYaml
{
    public const int MaxBytes = 16 * 1024;
    public const string Enrolled = "enrolled";
    public const string NotEnrolled = "not_enrolled";

    /// <summary>The fields of the document (strings as shown; an empty string is "none").</summary>
    public sealed record Document(
        string AssetTag,
        string Id,
        string OsType,
        string EnrollStatus,
        string Owner,
        IReadOnlyList<string> Users,
        string EkSha256,
        DeviceProfileFields Profile);

    public sealed record DeviceProfileFields(string ModelIdentifier, string OsVersion, string OsBuild, string OsBuildSupplemental);

    public static string Write(Document device) =>
        new SerializerBuilder().Build().Serialize(new Dictionary<string, object>
        {
            ["kind"] = "device",
            ["metadata"] = new Dictionary<string, object> { ["asset_tag"] = device.AssetTag, ["id"] = device.Id },
            ["spec"] = new Dictionary<string, object>
            {
                ["os_type"] = device.OsType,
                ["enroll_status"] = device.EnrollStatus,
                ["owner"] = device.Owner,
                ["users"] = device.Users.ToList(),
                ["ek_sha256"] = device.EkSha256,
                ["profile"] = new Dictionary<string, object>
                {
                    ["model_identifier"] = device.Profile.ModelIdentifier,
                    ["os_version"] = device.Profile.OsVersion,
                    ["os_build"] = device.Profile.OsBuild,
                    ["os_build_supplemental"] = device.Profile.OsBuildSupplemental,
                },
            },
        });

    /// <summary>
    /// The edited document, checked against <paramref name="original"/>: InvalidArgument with the line and the reason
    /// for a field that may not change, an unknown field, or an enroll status other than the two.
    /// </summary>
    public static Document Parse(string yaml, Document original)
    {
        var (root, fields) = StrictYaml.Document(yaml, "device", MaxBytes);
        var metadataNode = StrictYaml.Required(fields, root, "metadata");
        var metadata = StrictYaml.Fields(StrictYaml.AsMapping(metadataNode, "metadata"), "metadata", "asset_tag", "id");
        Unchanged(metadata, "asset_tag", "metadata.asset_tag", original.AssetTag, "a device's asset tag is its serial number");
        Unchanged(metadata, "id", "metadata.id", original.Id, "a device keeps its id");
        var specNode = StrictYaml.Required(fields, root, "spec");
        var spec = StrictYaml.Fields(StrictYaml.AsMapping(specNode, "spec"), "spec",
            "os_type", "enroll_status", "owner", "users", "ek_sha256", "profile");
        Unchanged(spec, "os_type", "spec.os_type", original.OsType, "a device keeps its OS (add another device for another OS)");
        Unchanged(spec, "owner", "spec.owner", original.Owner, "the owner is whoever enrolled it (unenroll it to let someone else enroll it)");
        var status = Optional(spec, "enroll_status", "spec.enroll_status", original.EnrollStatus);
        if (status != original.EnrollStatus)
        {
            if (status != NotEnrolled)
            {
                throw StrictYaml.Error(spec["enroll_status"], status == Enrolled
                    ? "spec.enroll_status cannot become enrolled here: a device enrolls only through its enrollment ceremony (dtsh device enroll)"
                    : $"spec.enroll_status must be {Enrolled} or {NotEnrolled}");
            }
        }
        var users = spec.TryGetValue("users", out var usersNode) && usersNode is not YamlScalarNode { Value: null or "" }
            ? StrictYaml.StringList(usersNode, "spec.users").Select(u => u.Value).ToList()
            : [];
        var ek = Optional(spec, "ek_sha256", "spec.ek_sha256", original.EkSha256);
        var profile = original.Profile;
        if (spec.TryGetValue("profile", out var profileNode) && profileNode is not YamlScalarNode { Value: null or "" })
        {
            var p = StrictYaml.Fields(StrictYaml.AsMapping(profileNode, "spec.profile"), "spec.profile",
                "model_identifier", "os_version", "os_build", "os_build_supplemental");
            profile = new DeviceProfileFields(
                Optional(p, "model_identifier", "spec.profile.model_identifier", ""),
                Optional(p, "os_version", "spec.profile.os_version", ""),
                Optional(p, "os_build", "spec.profile.os_build", ""),
                Optional(p, "os_build_supplemental", "spec.profile.os_build_supplemental", ""));
        }
        return original with { EnrollStatus = status, Users = users, EkSha256 = ek, Profile = profile };
    }

    private static string Optional(Dictionary<string, YamlNode> fields, string key, string what, string absent) =>
        fields.TryGetValue(key, out var node) ? node is YamlScalarNode { Value: null } ? "" : StrictYaml.Scalar(node, what) : absent;

    private static void Unchanged(Dictionary<string, YamlNode> fields, string key, string what, string original, string why)
    {
        if (fields.TryGetValue(key, out var node) && (node is YamlScalarNode { Value: null } ? "" : StrictYaml.Scalar(node, what)) != original)
        {
            throw StrictYaml.Error(node, $"{what} cannot be changed (it is \"{original}\"): {why}");
        }
    }
}
