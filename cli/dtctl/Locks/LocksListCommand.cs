using System.CommandLine;
using System.Globalization;
using DeviceTrust.Client.Output;
using DeviceTrust.Client.Profiles;
using DeviceTrust.Proto.V1;

namespace DeviceTrust.Cli.Dtctl.Locks;

/// <summary><c>dtctl locks ls</c>: the locks in force.</summary>
public static class LocksListCommand
{
    public static Command Create(ProfileStore store)
    {
        var format = Formats.Option();
        var command = new Command("ls", "List the locks in force") { format };
        command.SetAction((result, cancellationToken) => CliRunner.RunAsync(async () =>
        {
            var json = Formats.IsJson(result.GetValue(format)!);
            using var client = AdminClient.Open(store);
            var locks = (await client.Locks.ListLocksAsync(new ListLocksRequest(), cancellationToken: cancellationToken)).Locks;
            if (json)
            {
                Console.Write(Formats.Json(locks.Cast<Google.Protobuf.IMessage>()));
                return 0;
            }
            var table = new Table("ID", "Target", "Message", "Created", "Expires", "By");
            foreach (var l in locks)
            {
                table.Add(l.Id, $"{l.Kind} {l.Label}", l.Message, l.Created.ToDateTimeOffset().ToString("u", CultureInfo.InvariantCulture),
                    l.Expires is { } e ? e.ToDateTimeOffset().ToString("u", CultureInfo.InvariantCulture) : "never", l.CreatedBy);
            }
            Console.Write(table);
            return 0;
        }));
        return command;
    }
}
