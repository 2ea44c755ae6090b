using CsCheck;
using DeviceTrust.Core.Certificates;
using DeviceTrust.Core.Devices;
using DeviceTrust.Core.Errors;
using DeviceTrust.Core.Invitations;
using DeviceTrust.Core.Roles;
using DeviceTrust.Core.Users;

namespace DeviceTrust.Core.Tests;

/// <summary>
/// Generated hostile input for every validator and parser in core/ that sees network input: each either accepts
/// or refuses with InvalidArgument, and never fails any other way (which the gateway would answer with Internal).
/// </summary>
public sealed class HostileInputTests
{
    private const int Iterations = 3000;

    /// <summary>Text an attacker would send: printable ASCII, format braces, control characters, non-ASCII, long runs.</summary>
    private static readonly Gen<string> Text = Gen.OneOf(
        Gen.String[Gen.Char[' ', '~'], 0, 80],
        Gen.String[Gen.OneOf('{', '}', '0', '%', '/', '\n', '\0', '\u202e', 'é', '\ud800', 'a', ':', '#', '&', '*', '[', ']'), 0, 40],
        Gen.String[Gen.Char, 0, 300]);

    private static void OnlyInvalidArgument(Action action)
    {
        try
        {
            action();
        }
        catch (DeviceTrustException e)
        {
            Assert.Equal(ErrorKind.InvalidArgument, e.Kind);
        }
    }

    [Fact]
    public void Field_validators_accept_or_refuse_with_invalid_argument() =>
        Text.Sample(text =>
        {
            OnlyInvalidArgument(() => DeviceFields.AssetTag(text));
            OnlyInvalidArgument(() => DeviceFields.CredentialId(text));
            OnlyInvalidArgument(() => DeviceFields.Text(text, "field"));
            OnlyInvalidArgument(() => DeviceFields.DeviceId(text));
            OnlyInvalidArgument(() => CaPin.Parse(text));
            OnlyInvalidArgument(() => UserName.Validate(text));
            _ = OsVersions.Compare(text, text + ".1");
        }, iter: Iterations);

    [Fact]
    public void Invitation_tokens_decode_or_are_refused() =>
        Gen.OneOf(Text, Text.Select(t => "dtinv1." + t), Gen.Byte.Array[0, 300].Select(b => "dtinv1." + Secrets.Base64Url.Encode(b)))
            .Sample(text => OnlyInvalidArgument(() => InvitationToken.Decode(text)), iter: Iterations);

    [Fact]
    public void User_public_keys_parse_or_are_refused() =>
        Gen.Byte.Array[0, 600].Sample(bytes => OnlyInvalidArgument(() => CertificateAuthority.ParseUserPublicKey(bytes)), iter: Iterations);

    [Fact]
    public void Device_keys_parse_or_are_refused() =>
        Gen.Byte.Array[0, 600].Sample(bytes => OnlyInvalidArgument(() => KeyChallenge.ValidatePublicKey(bytes)), iter: Iterations);

    [Fact]
    public void Asset_tag_keys_are_one_to_one_and_hold_no_format_braces() =>
        Gen.Select(Text, Text).Sample((a, b) =>
        {
            var (ka, kb) = (AssetTags.Key(OsType.Linux, a), AssetTags.Key(OsType.Linux, b));
            Assert.Equal(a == b, ka == kb);
            Assert.DoesNotContain('{', ka);
            Assert.DoesNotContain('}', ka);
        }, iter: Iterations);

    /// <summary>YAML-shaped noise: the tokens that drive a YAML parser into its corners.</summary>
    private static readonly Gen<string> YamlNoise =
        Gen.OneOf("kind: role\n", "metadata:\n  name: x\n", "spec:\n", "  allow:\n", "    rules: ", "[", "]", "{", "}", ",", ": ",
                "- ", "&a ", "*a", "!!str ", "!tag ", "? ", "|\n", ">\n", "'", "\"", "#", "\n", "  ", "\t", "%YAML 1.2\n", "---\n", "...\n",
                "<<: *a\n", "user: [list]\n", "\\u0000", "~", "null")
            .Array[0, 60].Select(parts => string.Concat(parts));

    [Fact]
    public void Role_documents_parse_or_are_refused_with_a_reason() =>
        Gen.OneOf(YamlNoise, Text).Sample(yaml => OnlyInvalidArgument(() =>
        {
            var role = RoleYaml.Parse(yaml);
            // what is stored is the canonical form, and it must read back to the same role
            Assert.Equal(RoleYaml.Write(role), RoleYaml.Write(RoleYaml.Parse(RoleYaml.Write(role))));
        }), iter: Iterations);
}
