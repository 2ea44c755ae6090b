using System.CommandLine;
using DeviceTrust.Client.Output;
using DeviceTrust.Client.Profiles;
using DeviceTrust.Proto.V1;

namespace DeviceTrust.Cli.Dtctl.Users;

/// <summary><c>dtctl users get NAME</c>.</summary>
public static class UsersGetCommand
{
    public static Command Create(ProfileStore store)
    {
        var name = new Argument<string>("name") { Description = "User name" };
        var format = Formats.Option();
        var command = new Command("get", "Show one user") { name, format };
        command.SetAction((result, cancellationToken) => CliRunner.RunAsync(async () =>
        {
            var json = Formats.IsJson(result.GetValue(format)!);
            using var client = AdminClient.Open(store);
            var user = await client.Users.GetUserAsync(new GetUserRequest { Name = result.GetValue(name) }, cancellationToken: cancellationToken);
            Console.Write(json
                ? Formats.Json(user)
                : $"""
                   Name:    {user.Name}
                   Kind:    {UserStatus.Kind(user.Kind)}
                   Roles:   {string.Join(", ", user.Roles)}
                   Status:  {UserStatus.Of(user, DateTimeOffset.UtcNow)}
                   Created: {user.Created.ToDateTimeOffset():u}
                   Updated: {user.Updated.ToDateTimeOffset():u}

                   """);
            return 0;
        }));
        return command;
    }
}
