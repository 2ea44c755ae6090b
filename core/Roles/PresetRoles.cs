using DeviceTrust.Core.Config;

namespace DeviceTrust.Core.Roles;

/// <summary>
/// The roles every cluster starts with. They can be edited (<c>dtctl roles edit</c>) but not deleted: deleting an
/// edited preset role brings back the one shipped here.
/// </summary>
public static class PresetRoles
{
    public const string Access = "access";
    public const string Editor = "editor";
    public const string Auditor = "auditor";
    public const string DeviceAdmin = "device-admin";
    public const string DeviceEnroll = "device-enroll";
    public const string RequireTrustedDevice = "require-trusted-device";

    /// <summary>Every resource of a kind: the label map <c>{'*': '*'}</c>.</summary>
    private static readonly IReadOnlyDictionary<string, IReadOnlyList<string>> AllNodes =
        new Dictionary<string, IReadOnlyList<string>> { ["*"] = ["*"] };

    public static IReadOnlyList<Role> All { get; } =
    [
        new(Access, "Access to resources: SSH nodes, apps and databases.",
            new Dictionary<string, IReadOnlyList<string>> { [Resources.Node] = ["list"] }, ["root"], AllNodes, null) { AppLabels = AllNodes, DbLabels = AllNodes, KubeLabels = AllNodes, DesktopLabels = AllNodes },
        new(Editor, "Edit cluster configuration: users, roles, locks, devices, nodes; check access.",
            new Dictionary<string, IReadOnlyList<string>>
            {
                [Resources.User] = ["*"],
                [Resources.Role] = ["*"],
                [Resources.ClusterConfig] = ["*"],
                [Resources.Lock] = ["*"],
                [Resources.Device] = ["*"],
                [Resources.Access] = ["*"],
                [Resources.Node] = ["*"],
            }, [], new Dictionary<string, IReadOnlyList<string>>(), null),
        new(Auditor, "Read the audit log.",
            new Dictionary<string, IReadOnlyList<string>> { [Resources.Audit] = ["list", "read"] },
            [], new Dictionary<string, IReadOnlyList<string>>(), null),
        new(DeviceAdmin, "Manage the device inventory and enrollment tokens.",
            new Dictionary<string, IReadOnlyList<string>> { [Resources.Device] = ["*"] },
            [], new Dictionary<string, IReadOnlyList<string>>(), null),
        new(DeviceEnroll, "Enroll devices with a token.",
            new Dictionary<string, IReadOnlyList<string>> { [Resources.Device] = ["enroll"] },
            [], new Dictionary<string, IReadOnlyList<string>>(), null),
        new(RequireTrustedDevice, "Access to resources, from trusted devices only.",
            new Dictionary<string, IReadOnlyList<string>> { [Resources.Node] = ["list"] }, ["root"], AllNodes, DeviceTrustMode.Required)
        {
            AppLabels = AllNodes, DbLabels = AllNodes, KubeLabels = AllNodes, DesktopLabels = AllNodes,
        },
    ];

    public static bool IsPreset(string name) => All.Any(r => r.Name == name);
}
