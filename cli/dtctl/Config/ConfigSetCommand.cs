using System.CommandLine;
using DeviceTrust.Client.Output;
using DeviceTrust.Client.Profiles;
using DeviceTrust.Core.Errors;
using DeviceTrust.Proto.V1;

namespace DeviceTrust.Cli.Dtctl.Config;

/// <summary>
/// <c>dtctl config set KEY VALUE…</c>: <c>device-trust-mode off|optional|required|required-for-humans</c>,
/// <c>auto-enroll true|false</c>, <c>ekcert-allowed-cas ca.pem…</c> (root and intermediates; <c>none</c> clears),
/// <c>min-attestation unspecified|tpm_ekpub|tpm_ekcert|tpm_ekcert_trusted</c>, <c>allow-sha1-signatures true|false</c>.
/// </summary>
public static class ConfigSetCommand
{
    public static Command Create(ProfileStore store)
    {
        var key = new Argument<string>("key") { Description = "device-trust-mode, auto-enroll, ekcert-allowed-cas, min-attestation or allow-sha1-signatures" };
        var value = new Argument<string[]>("value") { Description = "The new value (ekcert-allowed-cas: PEM files, or none)", Arity = ArgumentArity.OneOrMore };
        var command = new Command("set", "Change one cluster setting") { key, value };
        command.SetAction((result, cancellationToken) => CliRunner.RunAsync(async () =>
        {
            var values = result.GetValue(value)!;
            var text = values[0];
            var request = new UpdateDeviceTrustConfigRequest();
            if (values.Length > 1 && result.GetValue(key) != "ekcert-allowed-cas")
            {
                throw DeviceTrustException.InvalidArgument($"{result.GetValue(key)} takes one value");
            }
            switch (result.GetValue(key))
            {
                case "device-trust-mode":
                    request.Mode = text;
                    break;
                case "auto-enroll":
                    request.AutoEnroll = Boolean("auto-enroll", text);
                    break;
                case "allow-sha1-signatures":
                    request.AllowSha1Signatures = Boolean("allow-sha1-signatures", text);
                    break;
                case "ekcert-allowed-cas":
                    request.SetEkcertAllowedCas = true;
                    if (values is not ["none"])
                    {
                        request.EkcertAllowedCas.AddRange(values.Select(File.ReadAllText));
                    }
                    break;
                case "min-attestation":
                    request.MinAttestation = text;
                    break;
                case var other:
                    throw DeviceTrustException.InvalidArgument($"unknown setting \"{other}\": use device-trust-mode, auto-enroll, ekcert-allowed-cas, min-attestation or allow-sha1-signatures");
            }
            using var client = AdminClient.Open(store);
            var config = await client.Config.UpdateDeviceTrustConfigAsync(request, cancellationToken: cancellationToken);
            Console.Write("Cluster configuration updated:\n" + ConfigGetCommand.Describe(config));
            foreach (var warning in ConfigGetCommand.Warnings(config))
            {
                Console.Error.WriteLine("WARNING: " + warning);
            }
            if (request.HasAutoEnroll && request.AutoEnroll)
            {
                // Stored so the setting survives upgrades, but nothing acts on it yet: say so instead of surprising anyone.
                Console.Error.WriteLine("WARNING: auto-enrollment is not built yet: devices still need an enrollment token (dtctl devices enroll)");
            }
            if (request.HasAllowSha1Signatures && request.AllowSha1Signatures)
            {
                Console.Error.WriteLine("WARNING: TPM quotes signed with SHA-1 are now admitted; SHA-1 collisions are practical, so such devices prove less");
            }
            return 0;
        }));
        return command;
    }

    private static bool Boolean(string key, string? text) => text switch
    {
        "true" => true,
        "false" => false,
        _ => throw DeviceTrustException.InvalidArgument($"{key} must be true or false, not \"{text}\""),
    };
}
