using System.CommandLine;
using DeviceTrust.Client.Output;
using DeviceTrust.Client.Profiles;
using DeviceTrust.Proto.V1;

namespace DeviceTrust.Cli.Dtctl.Config;

/// <summary><c>dtctl config get</c>: the cluster configuration.</summary>
public static class ConfigGetCommand
{
    public static Command Create(ProfileStore store)
    {
        var format = Formats.Option();
        var command = new Command("get", "Show the cluster configuration") { format };
        command.SetAction((result, cancellationToken) => CliRunner.RunAsync(async () =>
        {
            var json = Formats.IsJson(result.GetValue(format)!);
            using var client = AdminClient.Open(store);
            var config = await client.Config.GetClusterConfigAsync(new GetClusterConfigRequest(), cancellationToken: cancellationToken);
            Console.Write(json ? Formats.Json(config) : Describe(config));
            foreach (var warning in Warnings(config))
            {
                Console.Error.WriteLine("WARNING: " + warning);
            }
            return 0;
        }));
        return command;
    }

    public static string Describe(ClusterConfig config) =>
        $"""
         device_trust:
           mode: {config.DeviceTrust.Mode}
           auto_enroll: {(config.DeviceTrust.AutoEnroll ? "true" : "false")}
           ekcert_allowed_cas: {config.DeviceTrust.EkcertAllowedCas.Count} certificate(s)
           min_attestation: {config.DeviceTrust.MinAttestation}
           allow_sha1_signatures: {(config.DeviceTrust.AllowSha1Signatures ? "true (weaker: SHA-1 quotes are admitted)" : "false")}

         """;

    /// <summary>Settings whose policy nothing in the configuration can prove.</summary>
    public static IEnumerable<string> Warnings(ClusterConfig config)
    {
        var noCas = config.DeviceTrust.EkcertAllowedCas.Count == 0;
        if (noCas && config.DeviceTrust.MinAttestation == "tpm_ekcert_trusted")
        {
            yield return "min_attestation tpm_ekcert_trusted cannot be met: no EK CAs are configured (dtctl config set ekcert-allowed-cas ca.pem…), so every device is refused";
        }
        else if (noCas && config.DeviceTrust.MinAttestation is "tpm_ekpub" or "tpm_ekcert")
        {
            yield return $"min_attestation {config.DeviceTrust.MinAttestation} is what devices claim while no EK CAs are configured: software can offer an EK (and a self-made EK certificate), so it does not prove a hardware TPM";
        }
    }
}
