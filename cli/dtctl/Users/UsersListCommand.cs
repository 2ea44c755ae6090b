using System.CommandLine;
using DeviceTrust.Client.Output;
using DeviceTrust.Client.Profiles;
using DeviceTrust.Proto.V1;

namespace DeviceTrust.Cli.Dtctl.Users;

/// <summary><c>dtctl users ls</c>: every user, paged through the API.</summary>
public static class UsersListCommand
{
    public static Command Create(ProfileStore store)
    {
        var format = Formats.Option();
        var command = new Command("ls", "List users") { format };
        command.SetAction((result, cancellationToken) => CliRunner.RunAsync(async () =>
        {
            var json = Formats.IsJson(result.GetValue(format)!);
            using var client = AdminClient.Open(store);
            var users = new List<User>();
            var page = "";
            do
            {
                var response = await client.Users.ListUsersAsync(new ListUsersRequest { PageSize = 200, PageToken = page }, cancellationToken: cancellationToken);
                users.AddRange(response.Users);
                page = response.NextPageToken;
            }
            while (page.Length > 0);
            if (json)
            {
                Console.Write(Formats.Json(users.Cast<Google.Protobuf.IMessage>()));
                return 0;
            }
            var table = new Table("User", "Kind", "Roles", "Status");
            var now = DateTimeOffset.UtcNow;
            foreach (var user in users)
            {
                table.Add(user.Name, UserStatus.Kind(user.Kind), string.Join(",", user.Roles), UserStatus.Of(user, now));
            }
            Console.Write(table);
            return 0;
        }));
        return command;
    }
}
