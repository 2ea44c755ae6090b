using System.Text;

namespace DeviceTrust.Cli.Dtnode;

/// <summary>
/// What the stock sshd needs to let cluster users in: trust the cluster's SSH user CA, present the host certificate,
/// and ask dtnode (which asks the cluster) which certificate principal may become the login. sshd reads drop-ins
/// under <c>sshd_config.d/</c> first (Debian's sshd_config includes them at the top, and the first value wins).
/// </summary>
public static class SshdConfig
{
    public const string DropInName = "50-devicetrust.conf";

    public static string DropIn(NodeConfig node, string dataDir, string command) =>
        $"""
         # Written by dtnode join: node {node.NodeName} ({node.NodeId}) of cluster {node.ClusterName}.
         # Users log in with certificates from the cluster's SSH user CA; for every login sshd asks dtnode, which
         # asks the cluster (and says no when it cannot reach it). Remove this file and reload sshd to stop.
         TrustedUserCAKeys {Path.Combine(dataDir, NodeConfig.UserCaFile)}
         HostCertificate {node.HostCertificate}
         AuthorizedPrincipalsCommand {command} authorize-principals --socket {node.Socket} %u %t %k
         AuthorizedPrincipalsCommandUser {node.PrincipalsUser}

         """;

    /// <summary>
    /// sshd runs the principals command only when the file and every directory above it are owned by root and not
    /// writable by group or others (checked on every login, whatever StrictModes says; anything under /tmp fails).
    /// Returns why not, or null.
    /// </summary>
    public static string? UnsafeCommandReason(string path)
    {
        if (!Path.IsPathRooted(path))
        {
            return $"{path} is not an absolute path";
        }
        var current = Path.GetFullPath(path);
        while (true)
        {
            var info = new FileInfo(current);
            if (!info.Exists && !Directory.Exists(current))
            {
                return $"{current} does not exist";
            }
            var mode = File.GetUnixFileMode(current);
            if ((mode & (UnixFileMode.GroupWrite | UnixFileMode.OtherWrite)) != 0)
            {
                return $"{current} is writable by group or others";
            }
            if (OwnerUid(current) != 0)
            {
                return $"{current} is not owned by root";
            }
            var parent = Path.GetDirectoryName(current);
            if (parent is null)
            {
                return null;
            }
            current = parent;
        }
    }

    private static long OwnerUid(string path)
    {
        // .NET has no stat() owner; /proc/self/... does not help either. `stat -c %u` is on every Linux with sshd.
        var info = new System.Diagnostics.ProcessStartInfo("stat", ["-c", "%u", path]) { RedirectStandardOutput = true, UseShellExecute = false };
        using var process = System.Diagnostics.Process.Start(info)!;
        var output = process.StandardOutput.ReadToEnd().Trim();
        process.WaitForExit();
        return long.TryParse(output, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var uid) ? uid : -1;
    }

    /// <summary>A file others may read (public keys, certificates, sshd configuration): 0644, replaced atomically.</summary>
    public static void WritePublic(string path, string text)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(directory);
        var temp = Path.Combine(directory, $".{Path.GetFileName(path)}.{Guid.NewGuid():N}.tmp");
        var options = new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.Write,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead,
        };
        try
        {
            using (var stream = new FileStream(temp, options))
            {
                stream.Write(Encoding.UTF8.GetBytes(text));
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            File.Delete(temp);
        }
    }
}
