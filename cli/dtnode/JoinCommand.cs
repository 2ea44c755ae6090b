using System.CommandLine;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using DeviceTrust.Client.Connection;
using DeviceTrust.Client.Output;
using DeviceTrust.Core.Errors;
using DeviceTrust.Core.Nodes;
using DeviceTrust.Core.Secrets;
using DeviceTrust.Core.Ssh;
using DeviceTrust.Proto.V1;
using Google.Protobuf;

namespace DeviceTrust.Cli.Dtnode;

/// <summary>
/// <c>dtnode join --proxy HOST:PORT --token dtjoin1.…</c>, as root on the server: verifies the gateway by the CA pin in
/// the token, spends the token for the node's own credential and an SSH host certificate for sshd's host key, and
/// writes what the stock sshd needs (a drop-in under sshd_config.d). <c>--dry-run</c> prints it all and changes
/// nothing, the token included.
/// </summary>
public static class JoinCommand
{
    public const string DefaultDataDir = "/var/lib/devicetrust-node";
    public const string DefaultSocket = "/run/devicetrust/dtnode.sock";

    private static readonly string[] HostKeys =
        ["/etc/ssh/ssh_host_ed25519_key.pub", "/etc/ssh/ssh_host_ecdsa_key.pub", "/etc/ssh/ssh_host_rsa_key.pub"];

    public static Command Create()
    {
        var proxy = new Option<string>("--proxy") { Description = "The gateway, HOST:PORT", Required = true };
        var token = new Option<string>("--token") { Description = "The join token from dtctl nodes add", Required = true };
        var address = new Option<string?>("--address") { Description = "host:port clients reach this sshd at (default: this host's name, port 22)" };
        var hostNames = new Option<string[]>("--host-name") { Description = "More names for the host certificate (repeatable)", Arity = ArgumentArity.ZeroOrMore };
        var hostKey = new Option<string?>("--host-key") { Description = "The sshd host public key to certify (default: the first of ed25519, ecdsa, rsa in /etc/ssh)" };
        var dataDir = new Option<string>("--data-dir") { Description = "Where the node's credential goes", DefaultValueFactory = _ => DefaultDataDir };
        var sshdDir = new Option<string>("--sshd-config-dir") { Description = "sshd's drop-in directory", DefaultValueFactory = _ => "/etc/ssh/sshd_config.d" };
        var socket = new Option<string>("--socket") { Description = "The agent's socket (dtnode serve)", DefaultValueFactory = _ => DefaultSocket };
        var user = new Option<string>("--principals-user") { Description = "The user sshd runs dtnode authorize-principals as", DefaultValueFactory = _ => "nobody" };
        var commandPath = new Option<string?>("--command") { Description = "The dtnode sshd runs (default: this executable)" };
        var dryRun = new Option<bool>("--dry-run") { Description = "Print what would be written; change nothing and keep the token unused" };
        var command = new Command("join", "Join this server to the cluster as an SSH node")
        {
            proxy, token, address, hostNames, hostKey, dataDir, sshdDir, socket, user, commandPath, dryRun,
        };
        command.SetAction((result, cancellationToken) => CliRunner.RunAsync(async () =>
        {
            var join = NodeJoinToken.Decode(result.GetValue(token));
            var gateway = result.GetValue(proxy)!;
            var data = Path.GetFullPath(result.GetValue(dataDir)!);
            var hostKeyPath = result.GetValue(hostKey) ?? HostKeys.FirstOrDefault(File.Exists)
                ?? throw DeviceTrustException.FailedPrecondition("no sshd host key found in /etc/ssh: pass --host-key");
            SshPublicKey hostPublicKey;
            try
            {
                hostPublicKey = SshPublicKey.ParseLine(await File.ReadAllTextAsync(hostKeyPath, cancellationToken));
            }
            catch (SshFormatException e)
            {
                throw DeviceTrustException.InvalidArgument($"{hostKeyPath} is not an OpenSSH public key: {e.Message}");
            }
            var (host, port) = NodeAddress.Parse(result.GetValue(address) ?? System.Net.Dns.GetHostName().ToLowerInvariant() + ":22", "--address");
            var names = NodeAddress.HostNames(result.GetValue(hostNames) ?? []);
            var executable = result.GetValue(commandPath) ?? Environment.ProcessPath
                ?? throw DeviceTrustException.FailedPrecondition("cannot tell where this executable is: pass --command");
            var principalsUser = result.GetValue(user)!;
            if (!Core.Roles.RoleYaml.IsLogin(principalsUser) || principalsUser == "*")
            {
                throw DeviceTrustException.InvalidArgument("--principals-user must be a user name");
            }
            var certificatePath = Path.Combine(data, Path.GetFileName(hostKeyPath).Replace(".pub", "", StringComparison.Ordinal) + "-cert.pub");
            var unsafeReason = SshdConfig.UnsafeCommandReason(executable);
            // The CA pin in the token proves the gateway before anything is sent to it, dry run or not.
            var ca = await CaDiscovery.FetchPinnedAsync(gateway, join.CaPin, cancellationToken);
            var dropInPath = Path.Combine(result.GetValue(sshdDir)!, SshdConfig.DropInName);
            if (result.GetValue(dryRun))
            {
                var preview = new NodeConfig(gateway, "(cluster)", "(assigned at join)", join.Node, result.GetValue(socket)!, principalsUser, hostKeyPath,
                    certificatePath);
                Console.Write(
                    $"""
                     Dry run: the gateway at {gateway} holds the CA the token pins; nothing was changed and the token is unused.
                     Joining would certify {hostKeyPath} ({hostPublicKey.Type} {hostPublicKey.Fingerprint}) for {string.Join(", ", names.Prepend(join.Node).Append(host).Distinct())},
                     write the credential to {data}/, and write {dropInPath}:

                     {SshdConfig.DropIn(preview, data, executable)}
                     """);
                if (unsafeReason is not null)
                {
                    Console.Error.WriteLine($"warning: sshd will refuse to run {executable}: {unsafeReason}. Install dtnode under /usr/local/bin (root-owned).");
                }
                return 0;
            }
            if (unsafeReason is not null)
            {
                throw DeviceTrustException.FailedPrecondition(
                    $"sshd would refuse to run {executable} as AuthorizedPrincipalsCommand: {unsafeReason}. Install dtnode in a root-owned directory such as /usr/local/bin, or pass --command");
            }
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            JoinNodeResponse joined;
            using (var channel = GatewayChannel.Anonymous(gateway, ca))
            {
                var request = new JoinNodeRequest
                {
                    JoinToken = join.Encode(),
                    PublicKey = ByteString.CopyFrom(key.ExportSubjectPublicKeyInfo()),
                    SshHostKey = hostPublicKey.ToLine(),
                    Address = NodeAddress.Format(host, port),
                };
                request.HostNames.AddRange(names);
                joined = await new NodeService.NodeServiceClient(channel).JoinNodeAsync(request, cancellationToken: cancellationToken);
            }
            using var credential = X509CertificateLoader.LoadCertificate(joined.CertificateDer.Span);
            using var credentialKey = credential.GetECDsaPublicKey();
            var hostCertificate = SshCertificate.Parse(joined.SshHostCertificate.Span);
            var userCa = SshPublicKey.ParseLine(joined.SshUserCa);
            if (credentialKey is null || !credentialKey.ExportSubjectPublicKeyInfo().AsSpan().SequenceEqual(key.ExportSubjectPublicKeyInfo())
                || !hostCertificate.Key.Equals(hostPublicKey) || hostCertificate.Type != SshCertificateType.Host)
            {
                throw DeviceTrustException.FailedPrecondition("the gateway answered with certificates for keys that are not this node's");
            }
            var config = new NodeConfig(gateway, joined.ClusterName, joined.NodeId, joined.NodeName, result.GetValue(socket)!, principalsUser, hostKeyPath,
                certificatePath);
            SecureFile.CreatePrivateDirectory(data);
            SecureFile.WriteAllText(Path.Combine(data, NodeConfig.KeyFile), key.ExportPkcs8PrivateKeyPem());
            SecureFile.WriteAllText(Path.Combine(data, NodeConfig.CertificateFile), credential.ExportCertificatePem() + "\n");
            SecureFile.WriteAllText(Path.Combine(data, NodeConfig.CaFile), ca.ExportCertificatePem() + "\n");
            SshdConfig.WritePublic(Path.Combine(data, NodeConfig.UserCaFile), userCa.ToLine($"{joined.ClusterName} user CA") + "\n");
            // During a CA rotation the answer lists the other CAs to trust as well (the channel it came on proved the gateway).
            new NodeTrustFiles(data, config).Apply(new HeartbeatResponse { Trust = joined.Trust });
            SshdConfig.WritePublic(certificatePath, hostCertificate.ToLine($"{joined.NodeName}@{joined.ClusterName}") + "\n");
            config.Save(data);
            SshdConfig.WritePublic(Path.Combine(data, "dtnode.service"), ServeCommand.SystemdUnit(executable, data));
            SshdConfig.WritePublic(dropInPath, SshdConfig.DropIn(config, data, executable));
            Console.Write(
                $"""
                 Node {joined.NodeName} joined cluster {joined.ClusterName} (id {joined.NodeId}).
                 Wrote the credential to {data}/, the host certificate to {certificatePath} and {dropInPath}.
                 Next, start the agent and reload sshd:

                   cp {data}/dtnode.service /etc/systemd/system/ && systemctl enable --now dtnode
                   systemctl reload ssh

                 Until the agent runs, sshd lets no cluster user in.

                 """);
            return 0;
        }));
        return command;
    }
}
