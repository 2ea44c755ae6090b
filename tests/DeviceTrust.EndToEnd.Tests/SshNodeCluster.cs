using DeviceTrust.Client.Profiles;
using DeviceTrust.Client.Ssh;
using DeviceTrust.Testing;

namespace DeviceTrust.EndToEnd.Tests;

/// <summary>
/// A gateway, and beside it a real SSH node as an operator would set one up: a stock sshd with its own host key,
/// joined with <c>dtnode join</c> (which writes sshd's drop-in), and the node agent (<c>dtnode serve</c>) running.
/// </summary>
public class SshNodeCluster : GatewayCluster
{
    public SshNodeCluster() : this("dt-e2e-ssh")
    {
    }

    /// <summary>A cluster of its own (a gateway and data directory named <paramref name="name"/>), for tests that change the whole cluster.</summary>
    protected SshNodeCluster(string name) : base(name, new Dictionary<string, string?>(GatewayProcess.HighLimits)
    {
        ["DeviceTrust__Gateway__NodeHeartbeatInterval"] = "00:00:01",
    })
    {
    }

    public const string NodeName = "web-1";

    public SshServer Sshd { get; private set; } = null!;
    public InstalledDtnode Dtnode { get; private set; } = null!;
    public BackgroundProcess Agent { get; private set; } = null!;
    public string NodeData => Sshd.Directory + "/node";
    public string Socket => Sshd.Directory + "/dtnode.sock";
    public string JoinOutput { get; private set; } = "";

    protected override async Task AfterStartAsync()
    {
        if (Environment.UserName != "root")
        {
            throw new InvalidOperationException("the SSH node tests run a private sshd, which must run as root (as .ci/run does): run ./test.sh as root");
        }
        Sshd = await SshServer.CreateAsync();
        Dtnode = await InstalledDtnode.InstallAsync();
        var token = TokenFrom((await Admin.Dtctl("nodes", "add", NodeName, "--labels", "env=prod,team=web")).Succeeded().StdOut);
        JoinOutput = (await JoinAsync(token, NodeData, Sshd.DropInDirectory, Socket)).Succeeded().StdOut;
        Agent = BackgroundProcess.Start(Dtnode.Executable, ["serve", "--data-dir", NodeData]);
        await Agent.WaitUntilAsync(() => Task.FromResult(File.Exists(Socket)), "dtnode serve");
        await Sshd.StartAsync();
    }

    public static string TokenFrom(string output) =>
        output.Split(' ', '\n').Single(w => w.StartsWith("dtjoin1.", StringComparison.Ordinal)).Trim();

    public Task<ProcessResult> JoinAsync(string token, string dataDir, string dropIns, string socket, params string[] more) =>
        ProcessRunner.RunAsync(Dtnode.Executable,
        [
            "join", "--proxy", Gateway.Proxy, "--token", token, "--address", $"127.0.0.1:{Sshd.Port}", "--host-key", Sshd.HostPublicKey,
            "--data-dir", dataDir, "--sshd-config-dir", dropIns, "--socket", socket, .. more,
        ]);

    /// <summary>The system ssh with a profile's key and certificate, straight to the node: only the node decides (no dtsh pre-check).</summary>
    public Task<ProcessResult> SshDirectAsync(Cli cli, string login, string? certificateFile = null)
    {
        var store = new ProfileStore(cli.Home);
        var arguments = SshInvocation.Arguments(store, login, NodeName, $"127.0.0.1:{Sshd.Port}", ["echo", "in-as-$(whoami)"]).ToList();
        if (certificateFile is not null)
        {
            arguments[arguments.IndexOf("CertificateFile=" + store.SshCertificatePath)] = "CertificateFile=" + certificateFile;
        }
        return ProcessRunner.RunAsync("ssh", ["-o", "BatchMode=yes", .. arguments], timeout: TimeSpan.FromSeconds(30));
    }

    public override async Task DisposeAsync()
    {
        await Sshd.DisposeAsync();
        await Agent.DisposeAsync();
        Dtnode.Dispose();
        await base.DisposeAsync();
    }
}
