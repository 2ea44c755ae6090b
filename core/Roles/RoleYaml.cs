using DeviceTrust.Core.Config;
using DeviceTrust.Core.Errors;
using DeviceTrust.Core.Users;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.RepresentationModel;
using YamlDotNet.Serialization;

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
    private const int MaxListItems = 256;
    private const int MaxValueLength = 256;

    /// <summary>Role documents nest five levels; this leaves room and bounds the tree the YAML loader builds recursively.</summary>
    public const int MaxDepth = 16;

    public static Role Parse(string yaml)
    {
        ArgumentNullException.ThrowIfNull(yaml);
        if (System.Text.Encoding.UTF8.GetByteCount(yaml) > MaxBytes)
        {
            throw DeviceTrustException.InvalidArgument($"the role document is larger than {MaxBytes / 1024} KiB");
        }
        var stream = new YamlStream();
        try
        {
            // The event parser is a state machine (no recursion), so it can vet the document before the recursive loader
            // sees it: bounded nesting, and no anchors or aliases, which let a small document expand without bound.
            CheckShape(yaml);
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException e)
        {
            throw Error(e.Start.Line, FirstLine(e.Message));
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or FormatException or OverflowException)
        {
            // The YAML library's own inconsistencies on malformed input are still malformed input.
            throw DeviceTrustException.InvalidArgument($"the role document is not valid YAML: {FirstLine(e.Message)}");
        }
        if (stream.Documents.Count != 1)
        {
            throw DeviceTrustException.InvalidArgument($"expected exactly one YAML document, found {stream.Documents.Count}");
        }
        var root = AsMapping(stream.Documents[0].RootNode, "the document");
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

    private static void CheckShape(string yaml)
    {
        var parser = new Parser(new StringReader(yaml));
        var depth = 0;
        while (parser.MoveNext())
        {
            switch (parser.Current)
            {
                case AnchorAlias alias:
                    throw Error(alias.Start.Line, $"aliases (*{alias.Value}) are not allowed in role documents: write the value out");
                case NodeEvent { Anchor.IsEmpty: false } anchored:
                    throw Error(anchored.Start.Line, $"anchors (&{anchored.Anchor}) are not allowed in role documents");
                case NodeEvent { Tag.IsEmpty: false } tagged:
                    throw Error(tagged.Start.Line, $"tags ({tagged.Tag}) are not allowed in role documents");
                case SequenceStart or MappingStart when ++depth > MaxDepth:
                    throw Error(parser.Current.Start.Line, $"the document nests deeper than {MaxDepth} levels");
                case SequenceEnd or MappingEnd:
                    depth--;
                    break;
            }
        }
    }

    private static DeviceTrustException Error(YamlNode node, string reason) => Error(node.Start.Line, reason);

    private static DeviceTrustException Error(long line, string reason) =>
        DeviceTrustException.InvalidArgument($"line {line}: {reason}");

    private static string FirstLine(string message) => message.Split('\n')[0].Trim();

    private static YamlMappingNode AsMapping(YamlNode node, string what) =>
        node as YamlMappingNode ?? throw Error(node, $"{what} must be a mapping (key: value)");

    private static Dictionary<string, YamlNode> Fields(YamlMappingNode mapping, string what, params string[] allowed)
    {
        var fields = new Dictionary<string, YamlNode>(StringComparer.Ordinal);
        foreach (var (keyNode, value) in mapping.Children)
        {
            var key = Scalar(keyNode, "a field name");
            if (!allowed.Contains(key))
            {
                throw Error(keyNode, $"unknown field \"{key}\" in {what}: expected {string.Join(", ", allowed)}");
            }
            fields[key] = value;
        }
        return fields;
    }

    private static YamlNode Required(Dictionary<string, YamlNode> fields, YamlNode parent, string key) =>
        fields.TryGetValue(key, out var node) ? node : throw Error(parent, $"field \"{key}\" is required");

    private static string Scalar(YamlNode node, string what)
    {
        if (node is not YamlScalarNode { Value: { } value })
        {
            throw Error(node, $"{what} must be a single value");
        }
        if (value.Length > MaxValueLength)
        {
            throw Error(node, $"{what} is longer than {MaxValueLength} characters");
        }
        return value;
    }

    private static List<(string Value, YamlNode Node)> StringList(YamlNode node, string what)
    {
        if (node is not YamlSequenceNode sequence)
        {
            throw Error(node, $"{what} must be a list, e.g. [a, b]");
        }
        if (sequence.Children.Count > MaxListItems)
        {
            throw Error(node, $"{what} has more than {MaxListItems} items");
        }
        return sequence.Children.Select(c => (Scalar(c, what), c)).ToList();
    }
}
