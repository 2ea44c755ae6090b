using System.CommandLine;
using System.Globalization;
using DeviceTrust.Client.Output;
using DeviceTrust.Client.Profiles;
using DeviceTrust.Core.Errors;
using DeviceTrust.Proto.V1;

namespace DeviceTrust.Cli.Dtctl.Cluster;

/// <summary>
/// <c>dtctl cluster ca</c> (where each CA's rotation stands) and <c>dtctl cluster ca rotate KIND STEP</c>: the steps of
/// a CA rotation, in the order docs/operations.md gives them.
/// </summary>
public static class CaCommands
{
    private static readonly string[] Kinds = ["x509", "ssh-user", "ssh-host"];
    private static readonly string[] Steps = ["start", "switch", "finish", "cancel"];

    public static Command Create(ProfileStore store)
    {
        var format = Formats.Option();
        var command = new Command("ca", "Show the cluster's CAs and where each rotation stands") { format, Rotate(store) };
        command.SetAction((result, cancellationToken) => CliRunner.RunAsync(async () =>
        {
            using var client = AdminClient.Open(store);
            var status = await client.Config.GetCaStatusAsync(new GetCaStatusRequest(), cancellationToken: cancellationToken);
            if (Formats.IsJson(result.GetValue(format)!))
            {
                Console.Write(Formats.Json(status));
                return 0;
            }
            var table = new Table("CA", "Rotation", "Since", "Signing", "Also trusted");
            foreach (var ca in status.Cas)
            {
                table.Add(KindText(ca.Kind), ca.Phase, ca.ChangeTime is null ? "-" : Time(ca.ChangeTime), ca.Current, ca.Other.Length == 0 ? "-" : ca.Other);
            }
            Console.Write(table);
            foreach (var ca in status.Cas.Where(c => c.Phase != "standby"))
            {
                Console.WriteLine(Next(ca));
            }
            return 0;
        }));
        return command;
    }

    private static Command Rotate(ProfileStore store)
    {
        var kind = new Argument<string>("kind") { Description = "x509 (TLS, user and node certificates), ssh-user or ssh-host" };
        kind.AcceptOnlyFromAmong(Kinds);
        var step = new Argument<string>("step") { Description = "start, switch, finish or cancel" };
        step.AcceptOnlyFromAmong(Steps);
        var force = new Option<bool>("--force") { Description = "finish before the old CA's last user certificates expired (they stop working at once)" };
        var command = new Command("rotate", "Take one step of a CA rotation: start (publish the next CA), switch (sign with it), finish (drop the old one), cancel")
        {
            kind, step, force,
        };
        command.SetAction((result, cancellationToken) => CliRunner.RunAsync(async () =>
        {
            using var client = AdminClient.Open(store);
            var request = new RotateCaRequest
            {
                Kind = result.GetValue(kind) switch
                {
                    "x509" => CaKind.X509,
                    "ssh-user" => CaKind.SshUser,
                    "ssh-host" => CaKind.SshHost,
                    var other => throw DeviceTrustException.InvalidArgument($"unknown CA {other}"),
                },
                Step = result.GetValue(step) switch
                {
                    "start" => CaRotationStep.Start,
                    "switch" => CaRotationStep.Switch,
                    "finish" => CaRotationStep.Finish,
                    "cancel" => CaRotationStep.Cancel,
                    var other => throw DeviceTrustException.InvalidArgument($"unknown step {other}"),
                },
                Force = result.GetValue(force),
            };
            var ca = await client.Config.RotateCaAsync(request, cancellationToken: cancellationToken);
            Console.WriteLine($"{KindText(ca.Kind)} CA: {ca.Phase}; signing {ca.Current}" + (ca.Other.Length > 0 ? $", also trusted {ca.Other}" : ""));
            Console.WriteLine(Next(ca));
            return 0;
        }));
        return command;
    }

    /// <summary>What the operator does next, for a CA whose rotation is under way (or just finished).</summary>
    private static string Next(CaStatus ca)
    {
        var name = KindText(ca.Kind);
        return ca.Phase switch
        {
            "published" => ca.Kind switch
            {
                CaKind.X509 => $"{name}: every gateway trusts the next CA within seconds. Clients learn it at their next login and nodes at their next heartbeat; "
                               + $"once every user logged in again (at most the certificate lifetime), run: dtctl cluster ca rotate {name} switch",
                CaKind.SshUser => $"{name}: nodes trust the next CA at their next heartbeat; then run: dtctl cluster ca rotate {name} switch",
                _ => $"{name}: clients trust the next CA at their next login; once every user logged in again, run: dtctl cluster ca rotate {name} switch",
            },
            "switched" => $"{name}: the new CA signs; the old one stays trusted. "
                          + (ca.Kind == CaKind.X509 ? "Nodes renew their credential at their next heartbeat. " : "")
                          + (ca.Kind == CaKind.SshHost ? "Nodes receive a new host certificate at their next heartbeat (reload sshd on each). " : "")
                          + $"Run dtctl cluster ca rotate {name} finish after {(ca.FinishTime is null ? "the old certificates expired" : Time(ca.FinishTime))}",
            _ => $"{name}: one CA again ({ca.Current}); clients and nodes drop the old one at their next login or heartbeat",
        };
    }

    private static string KindText(CaKind kind) => kind switch
    {
        CaKind.X509 => "x509",
        CaKind.SshUser => "ssh-user",
        CaKind.SshHost => "ssh-host",
        _ => kind.ToString(),
    };

    private static string Time(Google.Protobuf.WellKnownTypes.Timestamp time) => time.ToDateTimeOffset().ToString("u", CultureInfo.InvariantCulture);
}
