using DeviceTrust.Core.Config;
using DeviceTrust.Core.Errors;
using DeviceTrust.Core.Users;
using DeviceTrust.Core.Yaml;
using YamlDotNet.RepresentationModel;
using YamlDotNet.Serialization;

using static DeviceTrust.Core.Yaml.StrictYaml;

namespace DeviceTrust.Core.Roles;

/// <summary>
/// Reads and writes roles as YAML documents:
/// <code>
/// kind: role
/// version: v1
/// metadata: { name: auditor, description: ... }
/// spec:
///   options: { device_trust_mode: required }
///   allow:
///     rules: { audit: [list, read] }
///     logins: [root]
///     node_labels: { '*': '*' }        # SSH nodes; app_labels, db_labels, kube_labels, desktop_labels alike
/// </code>
/// Parsing is strict: an unknown field, resource or verb is an error that names its line, so a typo never
/// silently grants or withholds access.
/// </summary>
public static class RoleYaml
{
    public const int MaxBytes = 64 * 1024;

    /// <summary>Role documents nest five levels; this leaves room and bounds the tree the YAML loader builds recursively.</summary>
    public const int MaxDepth = StrictYaml.MaxDepth;

    public static Role Parse(string yaml)
    {
        ArgumentNullException.ThrowIfNull(yaml);
        if (System.Text.Encoding.UTF8.GetByteCount(yaml) > MaxBytes)
        {
            throw DeviceTrustException.InvalidArgument($"the role document is larger than {MaxBytes / 1024} KiB");
        }
        var root = AsMapping(StrictYaml.Load(yaml, "role documents"), "the document");
        var fields = Fields(root, "the document", "kind", "version", "metadata", "spec");
        var kind = Scalar(Required(fields, root, "kind"), "kind");
        if (kind != "role")
        {
            throw Error(fields["kind"], $"kind must be \"role\", not \"{kind}\"");
        }
        if (fields.TryGetValue("version", out var versionNode) && Scalar(versionNode, "version") is var version && version != "v1")
        {
            throw Error(versionNode, $"version must be \"v1\", not \"{version}\"");
        }
        var metadataNode = Required(fields, root, "metadata");
        var metadata = Fields(AsMapping(metadataNode, "metadata"), "metadata", "name", "description", "labels");
        var nameNode = Required(metadata, metadataNode, "name");
        var name = Scalar(nameNode, "metadata.name");
        if (!UserName.IsValid(name))
        {
            throw Error(nameNode, $"metadata.name \"{UserName.Printable(name)}\" is invalid: use lower-case letters, digits, '.', '_', '@' and '-'");
        }
        var description = metadata.TryGetValue("description", out var d) ? Scalar(d, "metadata.description") : "";

        DeviceTrustMode? mode = null;
        var rules = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        IReadOnlyList<string> logins = [];
        var labels = new Dictionary<string, Dictionary<string, IReadOnlyList<string>>>(StringComparer.Ordinal);
        if (fields.TryGetValue("spec", out var specNode) && specNode is not YamlScalarNode { Value: null or "" })
        {
            var spec = Fields(AsMapping(specNode, "spec"), "spec", "options", "allow");
            if (spec.TryGetValue("options", out var optionsNode))
            {
                var options = Fields(AsMapping(optionsNode, "spec.options"), "spec.options", "device_trust_mode");
                if (options.TryGetValue("device_trust_mode", out var modeNode))
                {
                    var text = Scalar(modeNode, "device_trust_mode");
                    if (!DeviceTrustModes.TryParse(text, out var parsed) || parsed == DeviceTrustMode.RequiredForHumans)
                    {
                        throw Error(modeNode, $"device_trust_mode \"{text}\" is unknown: use off, optional or required");
                    }
                    mode = parsed;
                }
            }
            if (spec.TryGetValue("allow", out var allowNode))
            {
                var allow = Fields(AsMapping(allowNode, "spec.allow"), "spec.allow", ["rules", "logins", .. LabelFields]);
                if (allow.TryGetValue("rules", out var rulesNode))
                {
                    foreach (var (keyNode, verbsNode) in AsMapping(rulesNode, "spec.allow.rules").Children)
                    {
                        var resource = Scalar(keyNode, "a resource name");
                        if (resource != Resources.Wildcard && !Resources.Verbs.ContainsKey(resource))
                        {
                            throw Error(keyNode, $"unknown resource \"{resource}\": use one of {string.Join(", ", Resources.Verbs.Keys.Order())} or \"*\"");
                        }
                        var verbs = StringList(verbsNode, $"the verbs of {resource}");
                        foreach (var (verb, node) in verbs)
                        {
                            var known = resource == Resources.Wildcard
                                ? Resources.Verbs.Values.SelectMany(v => v).Distinct()
                                : Resources.Verbs[resource];
                            if (verb != Resources.Wildcard && !known.Contains(verb))
                            {
                                throw Error(node, $"unknown verb \"{verb}\" for resource {resource}: use one of {string.Join(", ", known)} or \"*\"");
                            }
                        }
                        rules[resource] = verbs.Select(v => v.Value).ToList();
                    }
                }
                if (allow.TryGetValue("logins", out var loginsNode))
                {
                    var listed = StringList(loginsNode, "logins");
                    foreach (var (login, node) in listed)
                    {
                        if (!IsLogin(login))
                        {
                            throw Error(node, $"login \"{UserName.Printable(login)}\" is not a Unix user name: use letters, digits, '.', '_' and '-' (at most 32, not starting with '-'), or \"*\" for any");
                        }
                    }
                    logins = listed.Select(v => v.Value).ToList();
                }
                foreach (var field in LabelFields)
                {
                    if (allow.TryGetValue(field, out var labelsNode))
                    {
                        labels[field] = Labels(labelsNode, field);
                    }
                }
            }
        }
        IReadOnlyDictionary<string, IReadOnlyList<string>> LabelsOf(string field) =>
            labels.TryGetValue(field, out var found) ? found : new Dictionary<string, IReadOnlyList<string>>();
        return new Role(name, description, rules, logins, LabelsOf("node_labels"), mode)
        {
            AppLabels = LabelsOf("app_labels"),
            DbLabels = LabelsOf("db_labels"),
            KubeLabels = LabelsOf("kube_labels"),
            DesktopLabels = LabelsOf("desktop_labels"),
        };
    }

    /// <summary>
    /// A login becomes an SSH certificate principal and a name sshd logs in as, so it is what Unix accepts as a user
    /// name (POSIX portable characters), or "*" for any.
    /// </summary>
    public static bool IsLogin(string login) =>
        login == "*" || (login.Length is > 0 and <= 32 && login[0] != '-' && login.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-'));

    /// <summary>The label maps a role's allow section may hold, one per kind of resource.</summary>
    private static readonly string[] LabelFields = ["node_labels", "app_labels", "db_labels", "kube_labels", "desktop_labels"];

    private static Dictionary<string, IReadOnlyList<string>> Labels(YamlNode node, string field)
    {
        var labels = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        foreach (var (keyNode, valueNode) in AsMapping(node, field).Children)
        {
            labels[Scalar(keyNode, "a label name")] = valueNode is YamlSequenceNode
                ? StringList(valueNode, "label values").Select(v => v.Value).ToList()
                : [Scalar(valueNode, "a label value")];
        }
        return labels;
    }

    /// <summary>The canonical YAML text of a role (what <c>dtctl roles get</c> prints and <see cref="Parse"/> reads back).</summary>
    public static string Write(Role role)
    {
        var allow = new Dictionary<string, object>();
        if (role.Rules.Count > 0)
        {
            allow["rules"] = role.Rules.ToDictionary(r => r.Key, r => (object)r.Value.ToList());
        }
        if (role.Logins.Count > 0)
        {
            allow["logins"] = role.Logins.ToList();
        }
        foreach (var (field, labels) in new[]
                 {
                     ("node_labels", role.NodeLabels), ("app_labels", role.AppLabels), ("db_labels", role.DbLabels),
                     ("kube_labels", role.KubeLabels), ("desktop_labels", role.DesktopLabels),
                 })
        {
            if (labels.Count > 0)
            {
                allow[field] = labels.ToDictionary(l => l.Key, l => (object)l.Value.ToList());
            }
        }
        var spec = new Dictionary<string, object>();
        if (role.DeviceTrustMode is { } mode)
        {
            spec["options"] = new Dictionary<string, object> { ["device_trust_mode"] = mode.ToText() };
        }
        spec["allow"] = allow;
        var metadata = new Dictionary<string, object> { ["name"] = role.Name };
        if (role.Description.Length > 0)
        {
            metadata["description"] = role.Description;
        }
        var document = new Dictionary<string, object>
        {
            ["kind"] = "role",
            ["version"] = "v1",
            ["metadata"] = metadata,
            ["spec"] = spec,
        };
        return new SerializerBuilder().Build().Serialize(document);
    }
}
