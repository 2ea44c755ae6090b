using System.CommandLine;
using DeviceTrust.Client.Output;
using DeviceTrust.Client.Profiles;
using DeviceTrust.Core.Nodes;
using DeviceTrust.Proto.V1;

namespace DeviceTrust.Cli.Dtctl.Nodes;

/// <summary><c>dtctl nodes ls</c>: every node, whether it joined and when it last reported.</summary>
public static class NodesListCommand
{
    public static Command Create(ProfileStore store)
    {
        var format = Formats.Option();
        var command = new Command("ls", "List SSH nodes") { format };
        command.SetAction((result, cancellationToken) => CliRunner.RunAsync(async () =>
        {
            using var client = AdminClient.Open(store);
            var nodes = (await client.Nodes.ListNodesAsync(new ListNodesRequest(), cancellationToken: cancellationToken)).Nodes;
            if (Formats.IsJson(result.GetValue(format)!))
            {
                Console.Write(Formats.Json(nodes.Cast<Google.Protobuf.IMessage>()));
                return 0;
            }
            var table = new Table("Name", "Status", "Address", "Labels", "Last seen", "Id");
            foreach (var node in nodes)
            {
                table.Add(node.Name, node.Status, node.Address, NodeLabels.Format(node.Labels), LastSeen(node), node.Id);
            }
            Console.Write(table);
            return 0;
        }));
        return command;
    }

    /// <summary>"12s ago", or "offline since …" after three missed heartbeats, or "-" when never seen.</summary>
    public static string LastSeen(Node node)
    {
        if (node.LastSeen is null)
        {
            return node.Status == "joined" ? "not since the cluster started" : "-";
        }
        var ago = DateTimeOffset.UtcNow - node.LastSeen.ToDateTimeOffset();
        var text = Durations.Format(ago < TimeSpan.Zero ? TimeSpan.Zero : ago) + " ago";
        return ago > TimeSpan.FromSeconds(90) ? $"offline ({text})" : text;
    }
}
