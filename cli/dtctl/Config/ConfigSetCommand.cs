using System.CommandLine;
using DeviceTrust.Client.Output;
using DeviceTrust.Client.Profiles;
using DeviceTrust.Core.Errors;
using DeviceTrust.Proto.V1;

namespace DeviceTrust.Cli.Dtctl.Config;

/// <summary>
/// <c>dtctl config set KEY VALUE…</c>: <c>device-trust-mode off|optional|required|required-for-humans</c>,
/// <c>auto-enroll true|false</c>, <c>ekcert-allowed-cas ca.pem…</c> (root and intermediates; <c>none</c> clears),
/// <c>min-attestation unspecified|tpm_ekpub_pinned|tpm_ekcert_trusted</c>, <c>allow-sha1-signatures true|false</c>,
/// <c>min-os-version linux=12 linux/ubuntu=22.04 macos=14.2 windows=10.0.19045</c> (<c>linux=none</c> removes one),
/// <c>quote-pcrs sha256:0-7,14</c> (<c>default</c>), <c>boot-policy -f policy.yaml</c> (<c>none</c> removes it),
/// <c>mdm-owner-change unenroll|keep</c>, <c>sync-confirm-twice-percent 10</c>.
/// </summary>
public static class ConfigSetCommand
{
    public static Command Create(ProfileStore store)
    {
        var key = new Argument<string>("key") { Description = $"One of: {Settings}" };
        var value = new Argument<string[]>("value")
        {
            Description = "The new value (ekcert-allowed-cas: PEM files, or none; min-os-version: os=version…)",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var file = new Option<string?>("--file", "-f") { Description = "Read the value from a file (boot-policy)" };
        var command = new Command("set", "Change one cluster setting") { key, value, file };
        command.SetAction((result, cancellationToken) => CliRunner.RunAsync(async () =>
        {
            var values = result.GetValue(value)!;
            var request = new UpdateDeviceTrustConfigRequest();
            var setting = result.GetValue(key);
            if (result.GetValue(file) is { } path)
            {
                if (setting != "boot-policy" || values.Length > 0)
                {
                    throw DeviceTrustException.InvalidArgument("-f FILE is for boot-policy, with no other value");
                }
                request.BootPolicy = ReadPolicy(path);
            }
            else if (values.Length == 0)
            {
                throw DeviceTrustException.InvalidArgument(setting == "boot-policy" ? "boot-policy takes -f policy.yaml, or none" : $"{setting} needs a value");
            }
            var text = values.FirstOrDefault() ?? "";
            if (values.Length > 1 && setting is not ("ekcert-allowed-cas" or "min-os-version"))
            {
                throw DeviceTrustException.InvalidArgument($"{setting} takes one value");
            }
            switch (setting)
            {
                case "boot-policy":
                    if (!request.HasBootPolicy)
                    {
                        request.BootPolicy = text == "none" ? "" : throw DeviceTrustException.InvalidArgument("boot-policy takes -f policy.yaml, or none");
                    }
                    break;
                case "quote-pcrs":
                    request.QuotePcrs = text;
                    break;
                case "min-os-version":
                    foreach (var pair in values)
                    {
                        var equals = pair.IndexOf('=', StringComparison.Ordinal);
                        if (equals <= 0)
                        {
                            throw DeviceTrustException.InvalidArgument($"min-os-version takes os=version, like linux=12 or macos=14.2, not \"{pair}\"");
                        }
                        var version = pair[(equals + 1)..];
                        request.SetMinOsVersions[pair[..equals]] = version == "none" ? "" : version;
                    }
                    break;
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
                case "mdm-owner-change":
                    request.UnenrollOnMdmOwnerChange = text switch
                    {
                        "unenroll" => true,
                        "keep" => false,
                        _ => throw DeviceTrustException.InvalidArgument($"mdm-owner-change must be unenroll or keep, not \"{text}\""),
                    };
                    break;
                case "sync-confirm-twice-percent":
                    request.SyncConfirmTwicePercent = int.TryParse(text.TrimEnd('%'), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var percent)
                        ? percent
                        : throw DeviceTrustException.InvalidArgument($"sync-confirm-twice-percent takes a whole number from 1 to 100, not \"{text}\"");
                    break;
                case var other:
                    throw DeviceTrustException.InvalidArgument($"unknown setting \"{other}\": use {Settings}");
            }
            using var client = AdminClient.Open(store);
            var config = await client.Config.UpdateDeviceTrustConfigAsync(request, cancellationToken: cancellationToken);
            Console.Write("Cluster configuration updated:\n" + ConfigGetCommand.Describe(config));
            foreach (var warning in ConfigGetCommand.Warnings(config))
            {
                Console.Error.WriteLine("WARNING: " + warning);
            }
            if (request.HasAllowSha1Signatures && request.AllowSha1Signatures)
            {
                Console.Error.WriteLine("WARNING: TPM quotes signed with SHA-1 are now admitted; SHA-1 collisions are practical, so such devices prove less");
            }
            return 0;
        }));
        return command;
    }

    private const string Settings = "device-trust-mode, auto-enroll, ekcert-allowed-cas, min-attestation, allow-sha1-signatures, min-os-version, quote-pcrs, boot-policy, mdm-owner-change or sync-confirm-twice-percent";

    private static string ReadPolicy(string path)
    {
        try
        {
            if (new FileInfo(path).Length > 64 * 1024)
            {
                throw DeviceTrustException.InvalidArgument($"{path} is larger than 64 KiB: a boot policy is at most that");
            }
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw DeviceTrustException.InvalidArgument($"{path} cannot be read: {e.Message}");
        }
    }

    private static bool Boolean(string key, string? text) => text switch
    {
        "true" => true,
        "false" => false,
        _ => throw DeviceTrustException.InvalidArgument($"{key} must be true or false, not \"{text}\""),
    };
}
