using System.CommandLine;
using DeviceTrust.Client.Output;
using DeviceTrust.Client.Profiles;
using DeviceTrust.Proto.V1;

namespace DeviceTrust.Cli.Dtctl.Roles;

/// <summary><c>dtctl roles get NAME</c>: the role as YAML, ready to edit and feed back to <c>roles create -f --force</c>.</summary>
public static class RolesGetCommand
{
    public static Command Create(ProfileStore store)
    {
        var name = new Argument<string>("name") { Description = "Role name" };
        var command = new Command("get", "Print a role as YAML") { name };
        command.SetAction((result, cancellationToken) => CliRunner.RunAsync(async () =>
        {
            using var client = AdminClient.Open(store);
            var role = await client.Roles.GetRoleAsync(new GetRoleRequest { Name = result.GetValue(name) }, cancellationToken: cancellationToken);
            Console.Write(role.Yaml);
            return 0;
        }));
        return command;
    }
}
