using DeviceTrust.Core.Errors;
using DeviceTrust.Core.Yaml;
using DeviceTrust.Tpm.Codec;
using DeviceTrust.Tpm.Verification;
using YamlDotNet.RepresentationModel;

namespace DeviceTrust.Grains.Attestation;

/// <summary>
/// The boot policy document (<c>dtctl config set boot-policy -f policy.yaml</c>), read strictly:
/// <code>
/// pcrs:                 # golden values: the quoted PCR must equal one of them
///   sha256:
///     0: [3d458cfe…]
/// secure_boot: required # the SecureBoot variable measured in PCR 7 must be 1
/// boot_applications:    # every EFI application measured in PCR 4 (SHA-256 Authenticode digest) must be listed
///   - 1b2c…
/// dbx_must_revoke:      # SHA-256 entries the dbx measured in PCR 7 must hold
///   - 80b4d9…
/// </code>
/// The text is stored as given; the verifier reads it again (cached), so what <c>dtctl config get boot-policy</c>
/// prints is what is enforced.
/// </summary>
public static class BootPolicyYaml
{
    public const int MaxBytes = 64 * 1024;
    private const int MaxValuesPerPcr = 16;

    private static readonly Lock Gate = new();
    private static (string Text, BootPolicy Policy) _last = ("", BootPolicy.None);

    /// <summary>The policy in <paramref name="yaml"/> ("" is no policy); throws InvalidArgument naming the line.</summary>
    public static BootPolicy Parse(string yaml)
    {
        if (yaml.Length == 0)
        {
            return BootPolicy.None;
        }
        lock (Gate)
        {
            if (string.Equals(_last.Text, yaml, StringComparison.Ordinal))
            {
                return _last.Policy;
            }
        }
        var policy = Read(yaml);
        lock (Gate)
        {
            _last = (yaml, policy);
        }
        return policy;
    }

    private static BootPolicy Read(string yaml)
    {
        if (yaml.Length > MaxBytes)
        {
            throw DeviceTrustException.InvalidArgument($"the boot policy is larger than {MaxBytes} bytes");
        }
        var root = StrictYaml.AsMapping(StrictYaml.Load(yaml, "boot policies"), "the boot policy");
        var fields = StrictYaml.Fields(root, "the boot policy", "pcrs", "secure_boot", "boot_applications", "dbx_must_revoke");
        var pcrs = new List<GoldenPcr>();
        if (fields.TryGetValue("pcrs", out var pcrsNode))
        {
            foreach (var (bankNode, indexes) in StrictYaml.AsMapping(pcrsNode, "pcrs").Children)
            {
                var bankName = StrictYaml.Scalar(bankNode, "a bank");
                var bank = bankName.Any(char.IsAsciiLetterUpper) ? null : TpmAlg.HashByName(bankName);
                if (bank is null)
                {
                    throw StrictYaml.Error(bankNode, $"unknown bank \"{bankName}\": use sha1, sha256, sha384 or sha512");
                }
                foreach (var (indexNode, values) in StrictYaml.AsMapping(indexes, $"pcrs.{bankName}").Children)
                {
                    var text = StrictYaml.Scalar(indexNode, "a PCR index");
                    if (!int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var index) || index > 23)
                    {
                        throw StrictYaml.Error(indexNode, $"PCR \"{text}\" is not a number from 0 to 23");
                    }
                    var list = values is YamlScalarNode ? [(StrictYaml.Scalar(values, "a PCR value"), values)] : StrictYaml.StringList(values, $"pcrs.{bankName}.{index}");
                    if (list.Count is 0 or > MaxValuesPerPcr)
                    {
                        throw StrictYaml.Error(values, $"PCR {bankName}:{index} needs 1 to {MaxValuesPerPcr} allowed values");
                    }
                    pcrs.Add(new GoldenPcr(bank.Value, index, list.Select(v => Hex(v.Value, v.Node, TpmAlg.DigestSize(bank.Value), $"a {bankName} PCR value")).ToList()));
                }
            }
        }
        var secureBoot = false;
        if (fields.TryGetValue("secure_boot", out var secureBootNode))
        {
            secureBoot = StrictYaml.Scalar(secureBootNode, "secure_boot") switch
            {
                "required" => true,
                "any" => false,
                var other => throw StrictYaml.Error(secureBootNode, $"secure_boot is required or any, not \"{other}\""),
            };
        }
        IReadOnlyList<string>? applications = fields.TryGetValue("boot_applications", out var appsNode)
            ? Digests(appsNode, "boot_applications")
            : null;
        var dbx = fields.TryGetValue("dbx_must_revoke", out var dbxNode) ? Digests(dbxNode, "dbx_must_revoke") : [];
        var policy = new BootPolicy(pcrs, secureBoot, applications, dbx);
        if (policy.IsEmpty)
        {
            throw StrictYaml.Error(root, "the boot policy has no rule: give pcrs, secure_boot: required, boot_applications or dbx_must_revoke (or remove it with dtctl config set boot-policy none)");
        }
        return policy;
    }

    private static List<string> Digests(YamlNode node, string what)
    {
        var list = StrictYaml.StringList(node, what);
        if (list.Count == 0)
        {
            throw StrictYaml.Error(node, $"{what} is empty: list at least one SHA-256 digest, or leave it out");
        }
        return list.Select(v => Convert.ToHexStringLower(Hex(v.Value, v.Node, 32, $"a {what} digest"))).ToList();
    }

    private static byte[] Hex(string value, YamlNode node, int size, string what)
    {
        var hex = value.StartsWith("sha256:", StringComparison.Ordinal) && size == 32 ? value[7..] : value;
        if (hex.Length != size * 2 || !hex.All(char.IsAsciiHexDigit))
        {
            throw StrictYaml.Error(node, $"{what} must be {size * 2} hex digits, not \"{(value.Length > 80 ? value[..80] + "…" : value)}\"");
        }
        return Convert.FromHexString(hex);
    }
}
