using System.CommandLine;
using DeviceTrust.Client.Output;
using DeviceTrust.Client.Profiles;
using DeviceTrust.Proto.V1;

namespace DeviceTrust.Cli.Dtctl.Roles;

/// <summary><c>dtctl roles rm NAME</c>. Users who hold a deleted role keep the name but it grants nothing.</summary>
public static class RolesRemoveCommand
{
    public static Command Create(ProfileStore store)
    {
        var name = new Argument<string>("name") { Description = "Role name" };
        var command = new Command("rm", "Delete a role") { name };
        command.SetAction((result, cancellationToken) => CliRunner.RunAsync(async () =>
        {
            using var client = AdminClient.Open(store);
            await client.Roles.DeleteRoleAsync(new DeleteRoleRequest { Name = result.GetValue(name) }, cancellationToken: cancellationToken);
            Console.WriteLine($"Role \"{result.GetValue(name)}\" has been deleted");
            return 0;
        }));
        return command;
    }
}
