using DeviceTrust.Core.Errors;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.RepresentationModel;

namespace DeviceTrust.Core.Yaml;

/// <summary>
/// Untrusted YAML, read strictly: one document, bounded nesting, no anchors, aliases or tags (which let a small
/// document expand without bound or name types), and errors that name the line. Role and user documents use it.
/// </summary>
public static class StrictYaml
{
    public const int MaxDepth = 16;
    public const int MaxListItems = 256;
    public const int MaxValueLength = 256;

    /// <summary>
    /// The top-level fields (kind, metadata, spec) of an edited document of <paramref name="kind"/>: at most
    /// <paramref name="maxBytes"/>, one document, the kind checked.
    /// </summary>
    public static (YamlNode Root, Dictionary<string, YamlNode> Fields) Document(string yaml, string kind, int maxBytes)
    {
        if (System.Text.Encoding.UTF8.GetByteCount(yaml) > maxBytes)
        {
            throw DeviceTrustException.InvalidArgument($"the {kind} document is larger than {maxBytes / 1024} KiB");
        }
        var root = AsMapping(Load(yaml, kind + " documents"), "the document");
        var fields = Fields(root, "the document", "kind", "metadata", "spec");
        if (Scalar(Required(fields, root, "kind"), "kind") != kind)
        {
            throw Error(fields["kind"], $"kind must be \"{kind}\"");
        }
        return (root, fields);
    }

    /// <summary>The root node of the one document in <paramref name="yaml"/>; <paramref name="documents"/> names them in errors.</summary>
    public static YamlNode Load(string yaml, string documents)
    {
        var stream = new YamlStream();
        try
        {
            // The event parser is a state machine (no recursion), so it can vet the document before the recursive loader
            // sees it: bounded nesting, and no anchors or aliases, which let a small document expand without bound.
            CheckShape(yaml, documents);
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException e)
        {
            throw Error(e.Start.Line, FirstLine(e.Message));
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or FormatException or OverflowException)
        {
            // The YAML library's own inconsistencies on malformed input are still malformed input.
            throw DeviceTrustException.InvalidArgument($"the document is not valid YAML: {FirstLine(e.Message)}");
        }
        if (stream.Documents.Count != 1)
        {
            throw DeviceTrustException.InvalidArgument($"expected exactly one YAML document, found {stream.Documents.Count}");
        }
        return stream.Documents[0].RootNode;
    }

    private static void CheckShape(string yaml, string documents)
    {
        var parser = new Parser(new StringReader(yaml));
        var depth = 0;
        while (parser.MoveNext())
        {
            switch (parser.Current)
            {
                case AnchorAlias alias:
                    throw Error(alias.Start.Line, $"aliases (*{alias.Value}) are not allowed in {documents}: write the value out");
                case NodeEvent { Anchor.IsEmpty: false } anchored:
                    throw Error(anchored.Start.Line, $"anchors (&{anchored.Anchor}) are not allowed in {documents}");
                case NodeEvent { Tag.IsEmpty: false } tagged:
                    throw Error(tagged.Start.Line, $"tags ({tagged.Tag}) are not allowed in {documents}");
                case SequenceStart or MappingStart when ++depth > MaxDepth:
                    throw Error(parser.Current.Start.Line, $"the document nests deeper than {MaxDepth} levels");
                case SequenceEnd or MappingEnd:
                    depth--;
                    break;
            }
        }
    }

    public static DeviceTrustException Error(YamlNode node, string reason) => Error(node.Start.Line, reason);

    public static DeviceTrustException Error(long line, string reason) =>
        DeviceTrustException.InvalidArgument($"line {line}: {reason}");

    private static string FirstLine(string message) => message.Split('\n')[0].Trim();

    public static YamlMappingNode AsMapping(YamlNode node, string what) =>
        node as YamlMappingNode ?? throw Error(node, $"{what} must be a mapping (key: value)");

    public static Dictionary<string, YamlNode> Fields(YamlMappingNode mapping, string what, params string[] allowed)
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

    public static YamlNode Required(Dictionary<string, YamlNode> fields, YamlNode parent, string key) =>
        fields.TryGetValue(key, out var node) ? node : throw Error(parent, $"field \"{key}\" is required");

    public static string Scalar(YamlNode node, string what)
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

    public static List<(string Value, YamlNode Node)> StringList(YamlNode node, string what)
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
