using System.CommandLine;
using System.Globalization;
using DeviceTrust.Client.Output;
using DeviceTrust.Client.Profiles;
using DeviceTrust.Proto.V1;

namespace DeviceTrust.Cli.Dtctl.Cluster;

/// <summary><c>dtctl cluster status</c>: the silos of the cluster and the gateways in front of it.</summary>
public static class ClusterStatusCommand
{
    public static Command Create(ProfileStore store)
    {
        var format = Formats.Option();
        var command = new Command("status", "Show the silos (membership, activations) and the gateways of the cluster") { format };
        command.SetAction((result, cancellationToken) => CliRunner.RunAsync(async () =>
        {
            using var client = AdminClient.Open(store);
            var status = await client.Config.GetClusterStatusAsync(new GetClusterStatusRequest(), cancellationToken: cancellationToken);
            if (Formats.IsJson(result.GetValue(format)!))
            {
                Console.Write(Formats.Json(status));
                return 0;
            }
            Console.WriteLine($"Cluster id {status.ClusterId}: {status.Silos.Count(s => s.Status == "active")} active silo(s), {status.Gateways.Count} gateway(s)");
            Console.WriteLine();
            var silos = new Table("Silo", "Status", "Started", "Last heartbeat", "Activations", "Client port", "Host");
            foreach (var s in status.Silos)
            {
                silos.Add(s.Address, s.Status, Time(s.StartTime), Time(s.LastHeartbeat),
                    s.Activations < 0 ? "-" : s.Activations.ToString(CultureInfo.InvariantCulture),
                    s.ClientPort == 0 ? "-" : s.ClientPort.ToString(CultureInfo.InvariantCulture), s.HostName);
            }
            Console.Write(silos);
            Console.WriteLine();
            var gateways = new Table("Gateway", "Listen", "Mode", "Started", "Last seen");
            foreach (var g in status.Gateways)
            {
                gateways.Add(g.Name, g.Listen, g.Mode, Time(g.StartTime), Time(g.LastSeen));
            }
            Console.Write(gateways);
            return 0;
        }));
        return command;
    }

    private static string Time(Google.Protobuf.WellKnownTypes.Timestamp? time) =>
        time is null ? "-" : time.ToDateTimeOffset().ToString("u", CultureInfo.InvariantCulture);
}
