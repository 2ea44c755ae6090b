using System.CommandLine;
using DeviceTrust.Cli.Dtctl.Users;
using DeviceTrust.Client.Output;
using DeviceTrust.Client.Profiles;
using DeviceTrust.Core.Errors;
using DeviceTrust.Proto.V1;

namespace DeviceTrust.Cli.Dtctl.Access;

/// <summary>
/// <c>dtctl access check --user bob --kind ssh --node web-1 --login root [--labels env=prod] [--device-id X]</c>:
/// what the cluster would decide if bob asked now, and why (roles that reach it, the mode that applied and where it
/// came from, the device's state, locks). Exit code 0 when allowed, 3 when denied.
/// </summary>
public static class AccessCheckCommand
{
    public const int Denied = 3;

    public static Command Create(ProfileStore store)
    {
        var user = new Option<string>("--user") { Description = "Whose access", Required = true };
        var kind = new Option<string>("--kind") { Description = "ssh, app, db, kube or desktop", DefaultValueFactory = _ => "ssh" };
        var name = new Option<string>("--node", "--name") { Description = "The node (or app, database…) by name", Required = true };
        var login = new Option<string?>("--login") { Description = "For ssh: the login, e.g. root" };
        var labels = new Option<string?>("--labels") { Description = "The resource's labels, e.g. env=prod,team=web" };
        var device = new Option<string?>("--device-id") { Description = "As if the user came from this device (authenticated now)" };
        var format = Formats.Option();
        var command = new Command("check", "Explain whether a user may reach a resource") { user, kind, name, login, labels, device, format };
        command.SetAction((result, cancellationToken) => CliRunner.RunAsync(async () =>
        {
            var resource = new AccessResource { Kind = result.GetValue(kind)!, Name = result.GetValue(name)!, Login = result.GetValue(login) ?? "" };
            foreach (var pair in UserStatus.SplitList(result.GetValue(labels)))
            {
                var parts = pair.Split('=', 2);
                if (parts.Length != 2 || parts[0].Length == 0)
                {
                    throw DeviceTrustException.InvalidArgument($"--labels \"{pair}\" is not key=value");
                }
                resource.Labels[parts[0]] = parts[1];
            }
            using var client = AdminClient.Open(store);
            var decision = await client.Access.CheckAccessAsync(new CheckAccessRequest
            {
                User = result.GetValue(user)!,
                DeviceId = result.GetValue(device) ?? "",
                Resource = resource,
            }, cancellationToken: cancellationToken);
            if (Formats.IsJson(result.GetValue(format)!))
            {
                Console.Write(Formats.Json(decision));
            }
            else
            {
                Console.Write(
                    $"""
                     Decision:       {(decision.Allowed ? "allowed" : "denied")}
                     {(decision.Reasons.Count == 0 ? "" : $"Why:            {string.Join(Environment.NewLine + "                ", decision.Reasons)}{Environment.NewLine}")}Matching roles: {(decision.MatchedRoles.Count == 0 ? "(none)" : string.Join(", ", decision.MatchedRoles))}
                     Device trust:   {decision.Mode} ({decision.ModeSource})
                     Device:         {(decision.DeviceId.Length == 0 ? "(none)" : decision.DeviceId + (decision.TrustedDevice ? " (trusted)" : " (not trusted)"))}
                     Locks:          {(decision.Locks.Count == 0 ? "(none)" : string.Join(", ", decision.Locks))}

                     """);
            }
            return decision.Allowed ? 0 : Denied;
        }));
        return command;
    }
}
