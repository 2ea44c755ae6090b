using System.Text.RegularExpressions;
using DeviceTrust.Core.Errors;
using DeviceTrust.Core.Users;

namespace DeviceTrust.Core.Nodes;

/// <summary>
/// Node names: a DNS label or dotted name, lower case. They become a host certificate principal, the
/// <c>HostKeyAlias</c> dtsh ssh checks it against, and the subject of the node's credential.
/// </summary>
public static partial class NodeName
{
    public const int MaxLength = 63;

    [GeneratedRegex("^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();

    public static bool IsValid(string? name) => !string.IsNullOrEmpty(name) && name.Length <= MaxLength && Pattern().IsMatch(name);

    public static string Validate(string? name)
    {
        if (string.IsNullOrEmpty(name))
        {
            throw DeviceTrustException.InvalidArgument("node name is required");
        }
        if (!IsValid(name))
        {
            throw DeviceTrustException.InvalidArgument(
                $"node name \"{UserName.Printable(name)}\" is invalid: use at most {MaxLength} lower-case letters, digits, '-' and '.', like a host name");
        }
        return name;
    }
}
