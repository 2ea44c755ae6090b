using System.CommandLine;
using DeviceTrust.Cli.Dtctl.Editing;
using DeviceTrust.Client.Output;
using DeviceTrust.Client.Profiles;
using DeviceTrust.Core.Users;
using DeviceTrust.Proto.V1;
using Grpc.Core;

namespace DeviceTrust.Cli.Dtctl.Users;

/// <summary><c>dtctl users edit NAME</c>: the user's roles in <c>$EDITOR</c> (effective within seconds, no re-login).</summary>
public static class UsersEditCommand
{
    public static Command Create(ProfileStore store)
    {
        var name = new Argument<string>("name") { Description = "The user to edit" };
        var command = new Command("edit", "Edit a user's roles in $EDITOR") { name };
        command.SetAction((result, cancellationToken) => CliRunner.RunAsync(async () =>
        {
            using var client = AdminClient.Open(store);
            var user = await client.Users.GetUserAsync(new GetUserRequest { Name = result.GetValue(name) }, cancellationToken: cancellationToken);
            var kind = user.Kind == Proto.V1.UserKind.Bot ? Core.Users.UserKind.Bot : Core.Users.UserKind.Human;
            using var editor = new ExternalEditor();
            var edited = await editor.EditAsync(UserYaml.Write(user.Name, kind, user.Roles), user.Name + ".yaml", cancellationToken);
            if (edited is null)
            {
                Console.WriteLine($"User \"{user.Name}\" is unchanged.");
                return 0;
            }
            try
            {
                var request = new UpdateUserRequest { Name = user.Name };
                request.SetRoles.AddRange(UserYaml.ParseRoles(edited, user.Name, kind));
                var updated = await client.Users.UpdateUserAsync(request, cancellationToken: cancellationToken);
                Console.WriteLine($"User \"{updated.Name}\" has been updated: roles {string.Join(", ", updated.Roles)}");
                return 0;
            }
            catch (Exception e) when (e is Core.Errors.DeviceTrustException || e is RpcException { StatusCode: StatusCode.InvalidArgument or StatusCode.PermissionDenied })
            {
                return editor.Refused(e);
            }
        }));
        return command;
    }
}
