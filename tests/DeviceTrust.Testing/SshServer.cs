using System.Net.Sockets;

namespace DeviceTrust.Testing;

/// <summary>
/// A private stock sshd (openssh-server) on a loopback port with its own configuration and host key, in a temporary
/// folder; /etc/ssh and the system sshd are left alone. Like Debian's sshd_config, the configuration includes a
/// drop-in folder first, which is where dtnode join writes. Certificates only: no passwords, no authorized_keys.
/// </summary>
public sealed class SshServer : IAsyncDisposable
{
    public const string Sshd = "/usr/sbin/sshd";
    private readonly TempDirectory _directory;
    private BackgroundProcess? _process;

    private SshServer(TempDirectory directory, int port)
    {
        _directory = directory;
        Port = port;
    }

    public int Port { get; }
    public string Directory => _directory.Path;
    public string DropInDirectory => _directory["sshd_config.d"];
    public string HostKey => _directory["ssh_host_ed25519_key"];
    public string HostPublicKey => HostKey + ".pub";
    public string Log => _process?.Output ?? "";

    /// <summary>Creates the folder, the host key and the configuration; <see cref="StartAsync"/> runs sshd.</summary>
    public static async Task<SshServer> CreateAsync()
    {
        if (!File.Exists(Sshd))
        {
            throw new InvalidOperationException($"{Sshd} is not installed: apt-get install openssh-server");
        }
        var directory = new TempDirectory("dt-sshd");
        var server = new SshServer(directory, FreePort.Next());
        System.IO.Directory.CreateDirectory(server.DropInDirectory);
        var keygen = await ProcessRunner.RunAsync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "dt-e2e host", "-f", server.HostKey]);
        if (keygen.ExitCode != 0)
        {
            throw new InvalidOperationException($"ssh-keygen failed: {keygen}");
        }
        // sshd refuses to start without its privilege separation directory (made by the systemd unit normally).
        System.IO.Directory.CreateDirectory("/run/sshd", UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
                                                           | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        await File.WriteAllTextAsync(directory["sshd_config"],
            $"""
             Include {server.DropInDirectory}/*.conf
             ListenAddress 127.0.0.1
             Port {server.Port}
             HostKey {server.HostKey}
             PidFile {directory["sshd.pid"]}
             PermitRootLogin prohibit-password
             PubkeyAuthentication yes
             AuthenticationMethods publickey
             PasswordAuthentication no
             KbdInteractiveAuthentication no
             UsePAM no
             StrictModes yes
             AuthorizedKeysFile none
             LogLevel VERBOSE
             LoginGraceTime 20

             """);
        return server;
    }

    /// <summary>Checks the configuration (sshd -t) and starts sshd in the foreground, logging to its stderr.</summary>
    public async Task StartAsync()
    {
        var check = await ProcessRunner.RunAsync(Sshd, ["-t", "-f", _directory["sshd_config"]]);
        if (check.ExitCode != 0)
        {
            throw new InvalidOperationException($"sshd -t refused the configuration: {check}");
        }
        _process = BackgroundProcess.Start(Sshd, ["-f", _directory["sshd_config"], "-D", "-e"]);
        await _process.WaitUntilAsync(async () =>
        {
            using var client = new TcpClient();
            try
            {
                await client.ConnectAsync("127.0.0.1", Port);
                return true;
            }
            catch (SocketException)
            {
                return false;
            }
        }, "sshd");
    }

    /// <summary>Stops sshd and starts it again, as a reload would make it read its host certificate again.</summary>
    public async Task RestartAsync()
    {
        if (_process is not null)
        {
            await _process.DisposeAsync();
            _process = null;
        }
        await StartAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is not null)
        {
            await _process.DisposeAsync();
        }
        _directory.Dispose();
    }
}
