using System.Text.RegularExpressions;
using DeviceTrust.Core.Errors;

namespace DeviceTrust.Core.Users;

/// <summary>User names: what they may look like. Names end up in certificate subjects, SSH principals and file names.</summary>
public static partial class UserName
{
    public const int MaxLength = 64;

    [GeneratedRegex("^[a-z0-9][a-z0-9._@-]*$", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();

    public static bool IsValid(string? name) =>
        !string.IsNullOrEmpty(name) && name.Length <= MaxLength && Pattern().IsMatch(name);

    public static string Validate(string? name)
    {
        if (string.IsNullOrEmpty(name))
        {
            throw DeviceTrustException.InvalidArgument("user name is required");
        }
        if (name.Length > MaxLength)
        {
            throw DeviceTrustException.InvalidArgument($"user name is longer than {MaxLength} characters");
        }
        if (!Pattern().IsMatch(name))
        {
            throw DeviceTrustException.InvalidArgument(
                $"user name \"{Printable(name)}\" is invalid: use lower-case letters, digits, '.', '_', '@' and '-', starting with a letter or digit");
        }
        return name;
    }

    /// <summary>Shortens and strips control characters so a hostile name cannot forge lines in an error message.</summary>
    public static string Printable(string value)
    {
        var cut = value.Length > MaxLength ? value[..MaxLength] + "…" : value;
        return new string(cut.Select(c => char.IsControl(c) ? '?' : c).ToArray());
    }
}
