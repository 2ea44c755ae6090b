using System.CommandLine;
using DeviceTrust.Client.Output;
using DeviceTrust.Client.Profiles;
using DeviceTrust.Proto.V1;

namespace DeviceTrust.Cli.Dtctl.Nodes;

/// <summary><c>dtctl nodes rm web-1</c>: the node's credential stops working, so it lets nobody in any more.</summary>
public static class NodesRemoveCommand
{
    public static Command Create(ProfileStore store)
    {
        var name = new Argument<string>("name") { Description = "The node's name" };
        var command = new Command("rm", "Remove an SSH node (it then lets nobody in)") { name };
        command.SetAction((result, cancellationToken) => CliRunner.RunAsync(async () =>
        {
            using var client = AdminClient.Open(store);
            var removed = await client.Nodes.DeleteNodeAsync(new DeleteNodeRequest { Name = result.GetValue(name)! }, cancellationToken: cancellationToken);
            Console.WriteLine($"Node {removed.Node.Name} removed: its credential no longer works, so it lets nobody in.");
            return 0;
        }));
        return command;
    }
}
