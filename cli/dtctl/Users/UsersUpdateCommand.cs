using System.CommandLine;
using DeviceTrust.Client.Output;
using DeviceTrust.Client.Profiles;
using DeviceTrust.Proto.V1;

namespace DeviceTrust.Cli.Dtctl.Users;

/// <summary><c>dtctl users update NAME --set-roles a,b</c>: replaces the user's roles (effective within seconds, no re-login).</summary>
public static class UsersUpdateCommand
{
    public static Command Create(ProfileStore store)
    {
        var name = new Argument<string>("name") { Description = "User name" };
        var roles = new Option<string>("--set-roles") { Description = "Comma-separated roles that replace the user's roles", Required = true };
        var command = new Command("update", "Change a user's roles") { name, roles };
        command.SetAction((result, cancellationToken) => CliRunner.RunAsync(async () =>
        {
            var request = new UpdateUserRequest { Name = result.GetValue(name) };
            request.SetRoles.AddRange(UserStatus.SplitList(result.GetValue(roles)));
            using var client = AdminClient.Open(store);
            var user = await client.Users.UpdateUserAsync(request, cancellationToken: cancellationToken);
            Console.WriteLine($"User \"{user.Name}\" has been updated: roles {string.Join(", ", user.Roles)}");
            return 0;
        }));
        return command;
    }
}
