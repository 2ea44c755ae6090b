using System.Reflection;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using k8s;
using k8s.Models;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace DeviceTrust.EndToEnd.Tests.Kubernetes;

/// <summary>
/// Checks rendered manifests against the typed Kubernetes models of the KubernetesClient package, more strictly than
/// its own strict loading (K8S-NOTES.md): that refuses unknown fields and duplicate keys, but not a missing required
/// field, a number where the API wants a string, or a quoted number where it wants an int. This walk finds those, with
/// the path and line of each; then every document is loaded strictly into its model for the invariant checks.
/// </summary>
public static partial class ManifestSchema
{
    private static readonly Dictionary<string, Type> Kinds = typeof(V1Deployment).Assembly.GetTypes()
        .Select(t => (Type: t, Entity: t.GetCustomAttribute<KubernetesEntityAttribute>()))
        .Where(e => e.Entity is not null && typeof(IKubernetesObject).IsAssignableFrom(e.Type))
        .GroupBy(e => ApiVersionOf(e.Entity!) + "/" + e.Entity!.Kind)
        .ToDictionary(g => g.Key, g => g.First().Type, StringComparer.Ordinal);

    /// <summary>
    /// Required fields that are references (the value types the models declare non-nullable are required as they
    /// are): what the API server demands of the kinds these manifests use.
    /// </summary>
    private static readonly Dictionary<Type, string[]> Required = new()
    {
        [typeof(V1ObjectMeta)] = [],
        [typeof(V1PodSpec)] = ["containers"],
        [typeof(V1Container)] = ["name"],
        [typeof(V1DeploymentSpec)] = ["selector", "template"],
        [typeof(V1StatefulSetSpec)] = ["selector", "template"],
        [typeof(V1EnvVar)] = ["name"],
        [typeof(V1SecretKeySelector)] = ["key"],
        [typeof(V1ConfigMapKeySelector)] = ["key"],
        [typeof(V1ObjectFieldSelector)] = ["fieldPath"],
        [typeof(V1HTTPGetAction)] = ["port"],
        [typeof(V1TCPSocketAction)] = ["port"],
        [typeof(V1ExecAction)] = ["command"],
        [typeof(V1Volume)] = ["name"],
        [typeof(V1VolumeMount)] = ["name", "mountPath"],
        [typeof(V1SeccompProfile)] = ["type"],
        [typeof(V1ServiceSpec)] = ["ports"],
        [typeof(V2HorizontalPodAutoscalerSpec)] = ["scaleTargetRef", "maxReplicas"],
        [typeof(V2CrossVersionObjectReference)] = ["kind", "name"],
        [typeof(V2MetricSpec)] = ["type"],
        [typeof(V2ResourceMetricSource)] = ["name", "target"],
        [typeof(V2MetricTarget)] = ["type"],
        [typeof(V1PersistentVolumeClaimSpec)] = ["accessModes"],
        [typeof(V1RoleRef)] = ["apiGroup", "kind", "name"],
    };

    [GeneratedRegex(@"^(-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?|0x[0-9a-fA-F]+|0o?[0-7]+|true|false|True|False|TRUE|FALSE|yes|no|on|off|null|~)$")]
    private static partial Regex NotAPlainString();

    private static string ApiVersionOf(KubernetesEntityAttribute entity) =>
        entity.Group.Length > 0 ? $"{entity.Group}/{entity.ApiVersion}" : entity.ApiVersion;

    /// <summary>Every problem found in <paramref name="rendered"/> (empty when none), and the objects when there are none.</summary>
    public static List<string> Check(string rendered, out List<IKubernetesObject<V1ObjectMeta>> objects)
    {
        var errors = new List<string>();
        objects = [];
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(rendered));
        }
        catch (YamlException e)
        {
            errors.Add($"(line {e.Start.Line}:{e.Start.Column}): {e.Message}");
            return errors;
        }
        foreach (var document in stream.Documents)
        {
            if (document.RootNode is not YamlMappingNode root)
            {
                errors.Add($"(line {document.RootNode.Start.Line}): a document that is not a mapping");
                continue;
            }
            var apiVersion = (root.Children.TryGetValue("apiVersion", out var a) ? (a as YamlScalarNode)?.Value : null) ?? "";
            var kind = (root.Children.TryGetValue("kind", out var k) ? (k as YamlScalarNode)?.Value : null) ?? "";
            var name = root.Children.TryGetValue("metadata", out var m) && m is YamlMappingNode meta && meta.Children.TryGetValue("name", out var n)
                ? (n as YamlScalarNode)?.Value ?? "" : "";
            var where = $"{kind} {name}";
            if (!Kinds.TryGetValue($"{apiVersion}/{kind}", out var type))
            {
                errors.Add($"{where} (line {root.Start.Line}): unknown apiVersion/kind {apiVersion}/{kind}");
                continue;
            }
            if (name.Length == 0)
            {
                errors.Add($"{where} (line {root.Start.Line}): missing metadata.name");
            }
            Walk(root, type, "", where, errors, top: true);
        }
        if (errors.Count == 0)
        {
            objects = KubernetesYaml.LoadAllFromString(rendered, strict: true).Cast<IKubernetesObject<V1ObjectMeta>>().ToList();
        }
        return errors;
    }

    private static void Walk(YamlNode node, Type type, string path, string where, List<string> errors, bool top = false)
    {
        void Error(string what) => errors.Add($"{where}: {(path.Length > 0 ? path : "(document)")} (line {node.Start.Line}:{node.Start.Column}): {what}");
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (type == typeof(IntOrString))
        {
            if (node is not YamlScalarNode scalar)
            {
                Error("expected a number or a name");
            }
            else if (scalar.Style is ScalarStyle.SingleQuoted or ScalarStyle.DoubleQuoted && scalar.Value!.All(char.IsAsciiDigit))
            {
                Error($"a quoted number \"{scalar.Value}\" is a port name, and not a valid one: write it unquoted");
            }
            return;
        }
        if (type == typeof(ResourceQuantity))
        {
            try
            {
                _ = new ResourceQuantity((node as YamlScalarNode)?.Value ?? throw new FormatException("not a scalar")).ToDecimal();
            }
            catch (Exception e) when (e is FormatException or ArgumentException or OverflowException)
            {
                Error($"not a quantity: {e.Message}");
            }
            return;
        }
        if (type == typeof(string))
        {
            if (node is not YamlScalarNode scalar)
            {
                Error("expected a string");
            }
            else if (scalar.Style is ScalarStyle.Plain && NotAPlainString().IsMatch(scalar.Value ?? ""))
            {
                Error($"expected a string, got the plain scalar {scalar.Value} (quote it: \"{scalar.Value}\")");
            }
            return;
        }
        if (type == typeof(byte[]))
        {
            if (node is not YamlScalarNode { Value: { } text } || !Convert.TryFromBase64String(text, new byte[text.Length], out _))
            {
                Error("expected base64 data");
            }
            return;
        }
        if (type == typeof(int) || type == typeof(long) || type == typeof(double) || type == typeof(bool))
        {
            if (node is not YamlScalarNode scalar || scalar.Style is not ScalarStyle.Plain)
            {
                Error($"expected an unquoted {(type == typeof(bool) ? "true or false" : "number")}");
                return;
            }
            var ok = type == typeof(bool)
                ? scalar.Value is "true" or "false"
                : double.TryParse(scalar.Value, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var number)
                  && (type == typeof(double) || number == Math.Floor(number));
            if (!ok)
            {
                Error($"expected {(type == typeof(bool) ? "true or false" : "a number")}, got {scalar.Value}");
            }
            return;
        }
        if (type == typeof(DateTime) || type == typeof(object) || type == typeof(System.Text.Json.JsonElement))
        {
            return;
        }
        if (Element(type, typeof(IDictionary<,>)) is { } valueType)
        {
            if (node is not YamlMappingNode map)
            {
                Error("expected a map");
                return;
            }
            foreach (var (key, value) in map.Children)
            {
                var child = path.Length > 0 ? $"{path}.{key}" : $"{key}";
                Walk(value, valueType, child, where, errors);
            }
            return;
        }
        if (Element(type, typeof(IList<>)) is { } itemType)
        {
            if (node is not YamlSequenceNode list)
            {
                Error("expected a list");
                return;
            }
            for (var i = 0; i < list.Children.Count; i++)
            {
                Walk(list.Children[i], itemType, $"{path}[{i}]", where, errors);
            }
            return;
        }
        if (node is not YamlMappingNode fields)
        {
            Error($"expected a {type.Name} (a map)");
            return;
        }
        var properties = type.GetProperties()
            .Select(p => (Property: p, Name: p.GetCustomAttribute<JsonPropertyNameAttribute>()?.Name))
            .Where(p => p.Name is not null)
            .ToDictionary(p => p.Name!, p => p.Property, StringComparer.Ordinal);
        foreach (var (key, value) in fields.Children)
        {
            var field = (key as YamlScalarNode)?.Value ?? "";
            var child = path.Length > 0 ? $"{path}.{field}" : field;
            if (!properties.TryGetValue(field, out var property))
            {
                var near = properties.Keys.OrderBy(p => Distance(p, field)).First();
                errors.Add($"{where}: {child} (line {key.Start.Line}:{key.Start.Column}): unknown field '{field}' in {type.Name}" +
                           (Distance(near, field) <= 2 ? $"; did you mean '{near}'?" : ""));
                continue;
            }
            Walk(value, property.PropertyType, child, where, errors);
        }
        var present = fields.Children.Keys.Select(k => (k as YamlScalarNode)?.Value).ToHashSet(StringComparer.Ordinal);
        var required = properties.Where(p => p.Value.PropertyType.IsValueType && Nullable.GetUnderlyingType(p.Value.PropertyType) is null && p.Value.PropertyType != typeof(IntOrString))
            .Select(p => p.Key)
            .Concat(Required.GetValueOrDefault(type, []));
        foreach (var missing in required.Where(r => !present.Contains(r) && !(top && r is "apiVersion" or "kind")))
        {
            Error($"missing required field '{missing}' in {type.Name}");
        }
    }

    private static Type? Element(Type type, Type generic)
    {
        var found = type.IsGenericType && type.GetGenericTypeDefinition() == generic
            ? type
            : type.GetInterfaces().FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == generic);
        return found?.GetGenericArguments()[^1];
    }

    private static int Distance(string a, string b)
    {
        var row = Enumerable.Range(0, b.Length + 1).ToArray();
        for (var i = 1; i <= a.Length; i++)
        {
            var previous = row[0];
            row[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var current = row[j];
                row[j] = Math.Min(Math.Min(row[j] + 1, row[j - 1] + 1), previous + (a[i - 1] == b[j - 1] ? 0 : 1));
                previous = current;
            }
        }
        return row[b.Length];
    }
}
