using System.CommandLine;
using DeviceTrust.Client.Output;
using DeviceTrust.Client.Profiles;
using DeviceTrust.Core.Roles;
using DeviceTrust.Proto.V1;
using Grpc.Core;

namespace DeviceTrust.Cli.Dtctl.Roles;

/// <summary><c>dtctl roles create -f role.yaml [--force]</c>. Errors name the file and the line.</summary>
public static class RolesCreateCommand
{
    public static Command Create(ProfileStore store)
    {
        var file = new Option<string>("--file", "-f") { Description = "The role's YAML file", Required = true };
        var force = new Option<bool>("--force") { Description = "Replace an existing role of the same name" };
        var command = new Command("create", "Create or replace a role from a YAML file") { file, force };
        command.SetAction((result, cancellationToken) => CliRunner.RunAsync(async () =>
        {
            var path = result.GetValue(file)!;
            var yaml = await File.ReadAllTextAsync(path, cancellationToken);
            if (System.Text.Encoding.UTF8.GetByteCount(yaml) > RoleYaml.MaxBytes)
            {
                return CliRunner.Fail($"{path}: larger than {RoleYaml.MaxBytes / 1024} KiB");
            }
            using var client = AdminClient.Open(store);
            try
            {
                var role = await client.Roles.CreateRoleAsync(new CreateRoleRequest { Yaml = yaml, Overwrite = result.GetValue(force) },
                    cancellationToken: cancellationToken);
                Console.WriteLine($"Role \"{role.Name}\" has been {(result.GetValue(force) ? "written" : "created")}");
                return 0;
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.InvalidArgument)
            {
                return CliRunner.Fail($"{path}: {e.Status.Detail}");
            }
        }));
        return command;
    }
}
