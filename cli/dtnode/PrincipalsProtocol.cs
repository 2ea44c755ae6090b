using System.Text;
using DeviceTrust.Core.Ssh;

namespace DeviceTrust.Cli.Dtnode;

/// <summary>
/// What <c>dtnode authorize-principals</c> (run by sshd as an unprivileged user) asks the agent over its Unix socket,
/// one line each way: <c>authorize TAB login TAB certificate-type TAB base64</c>, answered <c>allow TAB principal</c>
/// or <c>deny TAB reason</c>. The agent holds the node's credential; the command holds nothing.
/// </summary>
public static class PrincipalsProtocol
{
    /// <summary>A 16 KiB certificate in base64, the login and the type, with room to spare.</summary>
    public const int MaxLine = 24 * 1024;

    public sealed record Question(string Login, string CertificateType, byte[] Certificate);

    public static string Ask(string login, string certificateType, string base64) => $"authorize\t{login}\t{certificateType}\t{base64}\n";

    /// <summary>The question in a line from the socket, or the reason it is not one. Bounded and strict: the peer may be hostile.</summary>
    public static Question Parse(string line)
    {
        var parts = line.Split('\t');
        if (parts.Length != 4 || parts[0] != "authorize")
        {
            throw new FormatException("expected authorize, login, certificate type and certificate");
        }
        if (!Core.Roles.RoleYaml.IsLogin(parts[1]) || parts[1] == "*")
        {
            throw new FormatException("the login is not a Unix user name");
        }
        if (parts[2].Length > 64 || !parts[2].EndsWith(SshCertificate.Suffix, StringComparison.Ordinal))
        {
            throw new FormatException("the key is not an OpenSSH certificate");
        }
        try
        {
            return new Question(parts[1], parts[2], SshText.FromBase64(parts[3], SshCertificate.MaxBytes));
        }
        catch (SshFormatException e)
        {
            throw new FormatException("the certificate: " + e.Message);
        }
    }

    public static string Allow(string principal) => $"allow\t{principal}\n";

    public static string Deny(string reason) => $"deny\t{OneLine(reason)}\n";

    /// <summary>The principal to print, or null with the reason.</summary>
    public static (string? Principal, string Reason) ReadAnswer(string? line)
    {
        if (line is null)
        {
            return (null, "the agent closed the connection without an answer");
        }
        var tab = line.IndexOf('\t');
        var (verdict, rest) = tab < 0 ? (line, "") : (line[..tab], line[(tab + 1)..]);
        return verdict switch
        {
            "allow" when Core.Roles.RoleYaml.IsLogin(rest) => (rest, ""),
            "deny" => (null, rest),
            _ => (null, "the agent's answer is garbled"),
        };
    }

    private static string OneLine(string text)
    {
        var builder = new StringBuilder(text.Length);
        foreach (var c in text)
        {
            builder.Append(char.IsControl(c) ? ' ' : c);
        }
        return builder.ToString();
    }
}
