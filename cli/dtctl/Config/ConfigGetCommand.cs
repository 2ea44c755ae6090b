using System.CommandLine;
using DeviceTrust.Client.Output;
using DeviceTrust.Client.Profiles;
using DeviceTrust.Proto.V1;

namespace DeviceTrust.Cli.Dtctl.Config;

/// <summary><c>dtctl config get [boot-policy]</c>: the cluster configuration, or the boot policy document as it is enforced.</summary>
public static class ConfigGetCommand
{
    public static Command Create(ProfileStore store)
    {
        var format = Formats.Option();
        var part = new Argument<string?>("setting") { Description = "boot-policy: print the boot policy document", Arity = ArgumentArity.ZeroOrOne };
        var command = new Command("get", "Show the cluster configuration") { format, part };
        command.SetAction((result, cancellationToken) => CliRunner.RunAsync(async () =>
        {
            var json = Formats.IsJson(result.GetValue(format)!);
            if (result.GetValue(part) is { } setting && setting != "boot-policy")
            {
                throw Core.Errors.DeviceTrustException.InvalidArgument($"\"{setting}\" cannot be shown on its own: use dtctl config get, or dtctl config get boot-policy");
            }
            using var client = AdminClient.Open(store);
            var config = await client.Config.GetClusterConfigAsync(new GetClusterConfigRequest(), cancellationToken: cancellationToken);
            if (result.GetValue(part) is not null)
            {
                Console.Write(config.DeviceTrust.BootPolicy.Length == 0 ? "" : config.DeviceTrust.BootPolicy.TrimEnd('\n') + "\n");
                if (config.DeviceTrust.BootPolicy.Length == 0)
                {
                    Console.Error.WriteLine("no boot policy is set (dtctl config set boot-policy -f policy.yaml)");
                }
                return 0;
            }
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
           min_os_versions: {(config.DeviceTrust.MinOsVersions.Count == 0 ? "(none)" : string.Join(" ", config.DeviceTrust.MinOsVersions.OrderBy(v => v.Key, StringComparer.Ordinal).Select(v => $"{v.Key}={v.Value}")))}
           quote_pcrs: {config.DeviceTrust.QuotePcrs}
           boot_policy: {(config.DeviceTrust.BootPolicy.Length == 0 ? "(none)" : $"set, {config.DeviceTrust.BootPolicy.Length} bytes (dtctl config get boot-policy prints it)")}
           mdm_owner_change: {(config.DeviceTrust.UnenrollOnMdmOwnerChange ? "unenroll" : "keep")}
           sync_confirm_twice_percent: {config.DeviceTrust.SyncConfirmTwicePercent}

         """;

    /// <summary>Settings whose policy nothing in the configuration can prove.</summary>
    public static IEnumerable<string> Warnings(ClusterConfig config)
    {
        var noCas = config.DeviceTrust.EkcertAllowedCas.Count == 0;
        var minimum = config.DeviceTrust.MinAttestation;
        if (minimum is "tpm_ekpub" or "tpm_ekcert")
        {
            // set before self-asserted classes stopped counting: the cluster reads it as the proven class of its kind
            var read = minimum == "tpm_ekpub" ? "tpm_ekpub_pinned" : "tpm_ekcert_trusted";
            yield return $"min_attestation {minimum} is what a device claims, not what it proves: it is enforced as {read}; set that (or unspecified) to say so";
        }
        if (noCas && minimum is "tpm_ekcert_trusted" or "tpm_ekcert")
        {
            yield return "min_attestation tpm_ekcert_trusted cannot be met: no EK CAs are configured (dtctl config set ekcert-allowed-cas ca.pem…), so every device is refused";
        }
        else if (noCas && minimum is "tpm_ekpub_pinned" or "tpm_ekpub")
        {
            yield return "min_attestation tpm_ekpub_pinned is met only by devices whose EK is pinned in the inventory (dtctl devices add|update --ek-hash): no EK CAs are configured";
        }
    }
}
