using System.CommandLine;
using DeviceTrust.Client.Output;

namespace DeviceTrust.Cli.Dtnode;

/// <summary>
/// <c>dtnode serve</c>: the node's agent (as root, under systemd). It holds the node's credential, reports that the
/// node is alive, and answers sshd's principals command over a Unix socket by asking the cluster.
/// </summary>
public static class ServeCommand
{
    public static Command Create()
    {
        var dataDir = new Option<string>("--data-dir") { Description = "The node's credential (from dtnode join)", DefaultValueFactory = _ => JoinCommand.DefaultDataDir };
        var cacheTtl = new Option<string>("--cache-ttl")
        {
            Description = "How long an answer is reused (sshd asks twice per login)",
            DefaultValueFactory = _ => "1s",
        };
        var command = new Command("serve", "Run the node agent that answers sshd") { dataDir, cacheTtl };
        command.SetAction((result, cancellationToken) => CliRunner.RunAsync(async () =>
        {
            if (!Durations.TryParse(result.GetValue(cacheTtl)!, out var ttl) || ttl > TimeSpan.FromSeconds(10))
            {
                throw Core.Errors.DeviceTrustException.InvalidArgument("--cache-ttl must be a duration of at most 10s, e.g. 1s");
            }
            var data = Path.GetFullPath(result.GetValue(dataDir)!);
            await using var agent = NodeAgent.Start(data, ttl);
            await agent.RunAsync(cancellationToken);
            return 0;
        }));
        return command;
    }

    public static string SystemdUnit(string executable, string dataDir) =>
        $"""
         [Unit]
         Description=DeviceTrust node agent (answers sshd's AuthorizedPrincipalsCommand)
         After=network-online.target
         Wants=network-online.target

         [Service]
         ExecStart={executable} serve --data-dir {dataDir}
         Restart=always
         RestartSec=2

         [Install]
         WantedBy=multi-user.target

         """;
}
