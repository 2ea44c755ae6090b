using System.CommandLine;
using DeviceTrust.Client.Connection;
using DeviceTrust.Client.Output;
using DeviceTrust.Client.Profiles;
using DeviceTrust.Core.Nodes;
using DeviceTrust.Proto.V1;

namespace DeviceTrust.Cli.Dtsh;

/// <summary><c>dtsh ls</c>: the SSH nodes you may log in to, with their labels and your logins there (like <c>tsh ls</c>).</summary>
public static class LsCommand
{
    public static Command Create(ProfileStore store)
    {
        var all = new Option<bool>("--all") { Description = "Also list nodes none of your roles reach" };
        var command = new Command("ls", "List SSH nodes") { all };
        command.SetAction((result, cancellationToken) => CliRunner.RunAsync(async () =>
        {
            var profile = CurrentProfile.Require(store);
            using var channel = GatewayChannel.ForProfile(profile);
            var nodes = (await new NodeService.NodeServiceClient(channel).ListNodesAsync(new ListNodesRequest(), cancellationToken: cancellationToken)).Nodes;
            var table = new Table("Node", "Address", "Labels", "Logins");
            foreach (var node in nodes.Where(n => n.Status == "joined" && (result.GetValue(all) || n.Logins.Count > 0)))
            {
                table.Add(node.Name, node.Address, NodeLabels.Format(node.Labels), node.Logins.Count == 0 ? "-" : string.Join(",", node.Logins));
            }
            Console.Write(table);
            return 0;
        }));
        return command;
    }
}
