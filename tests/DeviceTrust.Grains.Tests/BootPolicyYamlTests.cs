using DeviceTrust.Core.Errors;
using DeviceTrust.Grains.Attestation;
using DeviceTrust.Tpm.Codec;

namespace DeviceTrust.Grains.Tests;

/// <summary>The boot policy document: read strictly, with the line and the field in every refusal.</summary>
public sealed class BootPolicyYamlTests
{
    private static readonly string Zero = new('0', 64);
    private static readonly string Ones = new('1', 64);

    [Fact]
    public void A_policy_with_every_rule_is_read()
    {
        var policy = BootPolicyYaml.Parse($"""
            pcrs:
              sha256:
                0: [{Zero}, {Ones}]
                2: {Zero}
              sha1:
                0: ["{new string('a', 40)}"]
            secure_boot: required
            boot_applications:
              - sha256:{Ones}
            dbx_must_revoke: [{Zero}]
            """);
        Assert.Equal(3, policy.Pcrs.Count);
        Assert.Equal(2, policy.Pcrs[0].Values.Count);
        Assert.True(policy.RequireSecureBoot);
        Assert.Equal([Ones], policy.BootApplications);
        Assert.Equal([Zero], policy.DbxMustRevoke);
        Assert.Equal("SHA1:0 SHA256:0,2,4,7", string.Join(" ", policy.QuotedPcrs().Select(b => $"{TpmAlg.Name(b.Hash)}:{string.Join(",", b.Pcrs)}")));
    }

    [Theory]
    [InlineData("secure_boot: maybe", "line 1: secure_boot is required or any, not \"maybe\"")]
    [InlineData("pcrs:\n  md5:\n    0: [00]", "line 2: unknown bank \"md5\": use sha1, sha256, sha384 or sha512")]
    [InlineData("pcrs:\n  sha256:\n    24: [00]", "line 3: PCR \"24\" is not a number from 0 to 23")]
    [InlineData("pcrs:\n  sha256:\n    0: [abcd]", "line 3: a sha256 PCR value must be 64 hex digits, not \"abcd\"")]
    [InlineData("boot_applications: []", "line 1: boot_applications is empty: list at least one SHA-256 digest, or leave it out")]
    [InlineData("kernel: [x]", "line 1: unknown field \"kernel\" in the boot policy: expected pcrs, secure_boot, boot_applications, dbx_must_revoke")]
    [InlineData("secure_boot: any", "line 1: the boot policy has no rule: give pcrs, secure_boot: required, boot_applications or dbx_must_revoke (or remove it with dtctl config set boot-policy none)")]
    [InlineData("a: &x 1\nb: *x", "line 1: anchors (&x) are not allowed in boot policies")]
    public void A_bad_policy_is_refused_with_the_line_and_the_reason(string yaml, string reason)
    {
        var error = Assert.Throws<DeviceTrustException>(() => BootPolicyYaml.Parse(yaml));
        Assert.Equal(ErrorKind.InvalidArgument, error.Kind);
        Assert.Equal(reason, error.Message);
    }
}
