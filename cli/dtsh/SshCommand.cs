using System.CommandLine;
using System.Diagnostics;
using DeviceTrust.Client.Connection;
using DeviceTrust.Client.Output;
using DeviceTrust.Client.Profiles;
using DeviceTrust.Client.Ssh;
using DeviceTrust.Core.Errors;
using DeviceTrust.Proto.V1;

namespace DeviceTrust.Cli.Dtsh;

/// <summary>
/// <c>dtsh ssh [login@]node [command…]</c>: asks the cluster first whether this login is allowed (so a refusal
/// comes with its reason, e.g. that the node requires a trusted device), then runs the system ssh with the
/// profile's certificate. The node asks the cluster again; this check only explains.
/// </summary>
public static class SshCommand
{
    public const int Denied = 1;

    public static Command Create(ProfileStore store)
    {
        var target = new Argument<string>("target") { Description = "[login@]node" };
        var remote = new Argument<string[]>("command") { Description = "Command to run on the node (after --)", Arity = ArgumentArity.ZeroOrMore };
        var login = new Option<string?>("--login", "-l") { Description = "The login on the node (default: your local user name)" };
        var command = new Command("ssh", "Log in to an SSH node with your certificate") { target, remote, login };
        command.SetAction((result, cancellationToken) => CliRunner.RunAsync(async () =>
        {
            var profile = CurrentProfile.Require(store);
            var (user, node) = SshInvocation.ParseTarget(result.GetValue(target)!, result.GetValue(login));
            if (profile.SshCertificate is null)
            {
                throw DeviceTrustException.FailedPrecondition("your roles allow no SSH login, so your login brought no SSH certificate");
            }
            AccessDecision decision;
            using (var channel = GatewayChannel.ForProfile(profile))
            {
                decision = await new AccessService.AccessServiceClient(channel).CheckMyAccessAsync(new CheckMyAccessRequest
                {
                    Resource = new AccessResource { Kind = "ssh", Name = node, Login = user },
                }, cancellationToken: cancellationToken);
            }
            if (!decision.Allowed)
            {
                Console.Error.WriteLine(string.Join(Environment.NewLine, decision.Reasons));
                return Denied;
            }
            var info = new ProcessStartInfo(Environment.GetEnvironmentVariable("DTSH_SSH") is { Length: > 0 } ssh ? ssh : "ssh") { UseShellExecute = false };
            foreach (var argument in SshInvocation.Arguments(store, user, node, decision.Address, result.GetValue(remote) ?? []))
            {
                info.ArgumentList.Add(argument);
            }
            using var process = Process.Start(info) ?? throw DeviceTrustException.FailedPrecondition("could not start ssh");
            await process.WaitForExitAsync(cancellationToken);
            return process.ExitCode;
        }));
        return command;
    }
}
