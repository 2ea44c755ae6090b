using System.CommandLine;
using DeviceTrust.Client.Output;
using DeviceTrust.Client.Profiles;
using DeviceTrust.Proto.V1;

namespace DeviceTrust.Cli.Dtctl.Roles;

/// <summary><c>dtctl roles ls</c>.</summary>
public static class RolesListCommand
{
    public static Command Create(ProfileStore store)
    {
        var format = Formats.Option();
        var command = new Command("ls", "List roles") { format };
        command.SetAction((result, cancellationToken) => CliRunner.RunAsync(async () =>
        {
            var json = Formats.IsJson(result.GetValue(format)!);
            using var client = AdminClient.Open(store);
            var roles = (await client.Roles.ListRolesAsync(new ListRolesRequest(), cancellationToken: cancellationToken)).Roles;
            if (json)
            {
                Console.Write(Formats.Json(roles.Cast<Google.Protobuf.IMessage>()));
                return 0;
            }
            var table = new Table("Role", "Preset");
            foreach (var role in roles)
            {
                table.Add(role.Name, role.Preset ? "yes" : "no");
            }
            Console.Write(table);
            return 0;
        }));
        return command;
    }
}
