using System.CommandLine;
using DeviceTrust.Cli.Dtctl.Devices;
using DeviceTrust.Client.Output;
using DeviceTrust.Client.Profiles;
using DeviceTrust.Core.Nodes;
using DeviceTrust.Proto.V1;

namespace DeviceTrust.Cli.Dtctl.Nodes;

/// <summary>
/// <c>dtctl nodes add web-1 --labels env=prod [--ttl 30m]</c>: registers an SSH node and prints the one-time join
/// token that <c>dtnode join</c> takes on the server.
/// </summary>
public static class NodesAddCommand
{
    public static Command Create(ProfileStore store)
    {
        var name = new Argument<string>("name") { Description = "The node's name, like a host name (web-1)" };
        var labels = new Option<string?>("--labels") { Description = "Labels roles match with node_labels, e.g. env=prod,team=web" };
        var ttl = new Option<string?>("--ttl") { Description = "How long the join token is valid (default 30m, at most 7 days)" };
        var command = new Command("add", "Add an SSH node and print its one-time join token") { name, labels, ttl };
        command.SetAction((result, cancellationToken) => CliRunner.RunAsync(async () =>
        {
            var request = new CreateNodeRequest { Name = result.GetValue(name)!, Ttl = DeviceOutput.Ttl(result.GetValue(ttl), "--ttl") };
            foreach (var (key, value) in NodeLabels.Parse(result.GetValue(labels)))
            {
                request.Labels[key] = value;
            }
            using var client = AdminClient.Open(store);
            var created = await client.Nodes.CreateNodeAsync(request, cancellationToken: cancellationToken);
            Console.Write(
                $"""
                 Node {created.Node.Name} added{(created.Node.Labels.Count == 0 ? "" : " with labels " + NodeLabels.Format(created.Node.Labels))}.
                 The join token below works once, until {created.Expires.ToDateTimeOffset():u}. On the server, as root:

                   dtnode join --proxy {client.Profile.Proxy} --token {created.JoinToken}

                 """);
            return 0;
        }));
        return command;
    }
}
