using System.CommandLine;
using DeviceTrust.Cli.Dtctl.Editing;
using DeviceTrust.Client.Output;
using DeviceTrust.Client.Profiles;
using DeviceTrust.Proto.V1;
using Grpc.Core;

namespace DeviceTrust.Cli.Dtctl.Roles;

/// <summary>
/// <c>dtctl roles edit NAME</c>: the role in <c>$EDITOR</c>, written back when saved with changes (preset roles
/// too: <c>dtctl roles rm</c> of an edited preset brings the shipped one back). A refused edit is kept in a file.
/// </summary>
public static class RolesEditCommand
{
    public static Command Create(ProfileStore store)
    {
        var name = new Argument<string>("name") { Description = "The role to edit" };
        var command = new Command("edit", "Edit a role in $EDITOR") { name };
        command.SetAction((result, cancellationToken) => CliRunner.RunAsync(async () =>
        {
            using var client = AdminClient.Open(store);
            var role = await client.Roles.GetRoleAsync(new GetRoleRequest { Name = result.GetValue(name) }, cancellationToken: cancellationToken);
            using var editor = new ExternalEditor();
            var edited = await editor.EditAsync(role.Yaml, role.Name + ".yaml", cancellationToken);
            if (edited is null)
            {
                Console.WriteLine($"Role \"{role.Name}\" is unchanged.");
                return 0;
            }
            string editedName;
            try
            {
                editedName = Core.Roles.RoleYaml.Parse(edited).Name;
            }
            catch (Core.Errors.DeviceTrustException e)
            {
                var kept = editor.Keep();
                return CliRunner.Fail($"{kept}: {e.Message}\nNothing was changed. Fix the file and run dtctl roles create -f {kept} --force");
            }
            if (editedName != role.Name)
            {
                return CliRunner.Fail($"the edit renames role \"{role.Name}\" to \"{editedName}\": nothing was changed; use dtctl roles create for a new role (your edit is in {editor.Keep()})");
            }
            try
            {
                await client.Roles.CreateRoleAsync(new CreateRoleRequest { Yaml = edited, Overwrite = true }, cancellationToken: cancellationToken);
            }
            catch (RpcException e) when (e.StatusCode is StatusCode.InvalidArgument or StatusCode.PermissionDenied or StatusCode.FailedPrecondition)
            {
                var kept = editor.Keep();
                return CliRunner.Fail($"{e.Status.Detail}\nNothing was changed. Your edit is in {kept}: fix it and run dtctl roles create -f {kept} --force");
            }
            Console.WriteLine($"Role \"{role.Name}\" has been updated.");
            return 0;
        }));
        return command;
    }
}
