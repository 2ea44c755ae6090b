using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace DeviceTrust.Cli.Dtnode;

/// <summary>Who is on the other end of a Unix socket (Linux SO_PEERCRED), and users' ids.</summary>
public static class PeerCredentials
{
    private const int SolSocket = 1;
    private const int SoPeerCred = 17;

    /// <summary>The peer's uid, or null when the kernel would not say.</summary>
    public static uint? UidOf(Socket connection)
    {
        // struct ucred { pid_t pid; uid_t uid; gid_t gid; }, native byte order
        Span<byte> ucred = stackalloc byte[12];
        try
        {
            return connection.GetRawSocketOption(SolSocket, SoPeerCred, ucred) == 12 ? MemoryMarshal.Read<uint>(ucred[4..8]) : null;
        }
        catch (SocketException)
        {
            return null;
        }
    }

    /// <summary>The uid of a user by name (through NSS, as sshd resolves it).</summary>
    public static uint UidOf(string user)
    {
        var info = new System.Diagnostics.ProcessStartInfo("id", ["-u", user]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        using var process = System.Diagnostics.Process.Start(info) ?? throw new InvalidOperationException("cannot run id");
        var output = process.StandardOutput.ReadToEnd().Trim();
        process.WaitForExit();
        return process.ExitCode == 0 && uint.TryParse(output, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var uid)
            ? uid
            : throw Core.Errors.DeviceTrustException.FailedPrecondition($"user {user} (the principals user in node.json) does not exist on this host");
    }
}
