using System.CommandLine;
using DeviceTrust.Client.Output;
using DeviceTrust.Client.Profiles;
using DeviceTrust.Proto.V1;

namespace DeviceTrust.Cli.Dtctl.Users;

/// <summary><c>dtctl users rm NAME</c>: the user's certificates stop working at once.</summary>
public static class UsersRemoveCommand
{
    public static Command Create(ProfileStore store)
    {
        var name = new Argument<string>("name") { Description = "User name" };
        var command = new Command("rm", "Delete a user") { name };
        command.SetAction((result, cancellationToken) => CliRunner.RunAsync(async () =>
        {
            using var client = AdminClient.Open(store);
            await client.Users.DeleteUserAsync(new DeleteUserRequest { Name = result.GetValue(name) }, cancellationToken: cancellationToken);
            Console.WriteLine($"User \"{result.GetValue(name)}\" has been deleted");
            return 0;
        }));
        return command;
    }
}
