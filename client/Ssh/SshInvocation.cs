using DeviceTrust.Client.Profiles;
using DeviceTrust.Core.Errors;
using DeviceTrust.Core.Nodes;

namespace DeviceTrust.Client.Ssh;

/// <summary>
/// The system ssh, pointed at the profile's key and SSH certificate, trusting only the cluster's host CA for the node
/// (known_hosts <c>@cert-authority</c>, checked against the node's name through <c>HostKeyAlias</c>), so there is no
/// trust-on-first-use prompt and no other key or agent is offered.
/// </summary>
public static class SshInvocation
{
    /// <summary><c>login@node</c> or <c>node</c> (then the local user name, as ssh does).</summary>
    public static (string Login, string Node) ParseTarget(string target, string? login)
    {
        var at = target.LastIndexOf('@');
        var (user, node) = at < 0 ? (login ?? Environment.UserName, target) : (target[..at], target[(at + 1)..]);
        if (login is not null && at >= 0 && login != user)
        {
            throw DeviceTrustException.InvalidArgument($"the login is given twice ({user} and {login})");
        }
        if (!Core.Roles.RoleYaml.IsLogin(user) || user == "*")
        {
            throw DeviceTrustException.InvalidArgument($"\"{Core.Users.UserName.Printable(user)}\" is not a login name");
        }
        return (user, NodeName.Validate(node));
    }

    public static IReadOnlyList<string> Arguments(ProfileStore store, string login, string node, string address, IEnumerable<string> command)
    {
        var (host, port) = NodeAddress.Parse(address, "the node's address");
        List<string> args =
        [
            "-i", store.KeyPath,
            "-o", "CertificateFile=" + store.SshCertificatePath,
            "-o", "IdentitiesOnly=yes",
            "-o", "IdentityAgent=none",
            "-o", "UserKnownHostsFile=" + store.KnownHostsPath,
            "-o", "GlobalKnownHostsFile=/dev/null",
            "-o", "StrictHostKeyChecking=yes",
            "-o", "HostKeyAlias=" + node,
            "-p", port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "-l", login,
            host,
        ];
        var rest = command.ToList();
        if (rest.Count > 0)
        {
            args.Add("--");
            args.AddRange(rest);
        }
        return args;
    }
}
