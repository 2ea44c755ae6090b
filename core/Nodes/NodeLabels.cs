using DeviceTrust.Core.Errors;
using DeviceTrust.Core.Users;

namespace DeviceTrust.Core.Nodes;

/// <summary>
/// A node's labels, which roles' <c>node_labels</c> match: at most 32, names of letters, digits and <c>._/-</c>, values
/// of printable ASCII without <c>,</c> or <c>=</c> (so <c>--labels env=prod,team=web</c> reads back the same).
/// </summary>
public static class NodeLabels
{
    public const int MaxLabels = 32;
    public const int MaxLength = 63;

    public static IReadOnlyDictionary<string, string> Validate(IEnumerable<KeyValuePair<string, string>> labels)
    {
        var checkedLabels = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in labels)
        {
            if (checkedLabels.Count == MaxLabels)
            {
                throw DeviceTrustException.InvalidArgument($"a node has at most {MaxLabels} labels");
            }
            if (name.Length is 0 or > MaxLength || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '/' or '-'))
            {
                throw DeviceTrustException.InvalidArgument(
                    $"label name \"{UserName.Printable(name)}\" is invalid: use 1 to {MaxLength} letters, digits, '.', '_', '/' and '-'");
            }
            if (value.Length > MaxLength || !value.All(c => c is >= ' ' and <= '~' and not ',' and not '='))
            {
                throw DeviceTrustException.InvalidArgument(
                    $"the value of label {name} is invalid: use at most {MaxLength} printable ASCII characters other than ',' and '='");
            }
            if (!checkedLabels.TryAdd(name, value))
            {
                throw DeviceTrustException.InvalidArgument($"label {name} is given twice");
            }
        }
        return checkedLabels;
    }

    /// <summary><c>env=prod,team=web</c> (the form dtctl takes and prints).</summary>
    public static IReadOnlyDictionary<string, string> Parse(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return new SortedDictionary<string, string>(StringComparer.Ordinal);
        }
        var pairs = new List<KeyValuePair<string, string>>();
        foreach (var part in text.Split(','))
        {
            var equals = part.IndexOf('=');
            if (equals <= 0)
            {
                throw DeviceTrustException.InvalidArgument($"label \"{UserName.Printable(part)}\" is not name=value");
            }
            pairs.Add(KeyValuePair.Create(part[..equals].Trim(), part[(equals + 1)..].Trim()));
        }
        return Validate(pairs);
    }

    public static string Format(IReadOnlyDictionary<string, string> labels) =>
        string.Join(",", labels.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => $"{l.Key}={l.Value}"));
}
