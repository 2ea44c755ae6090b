using DeviceTrust.Testing;
using DeviceTrust.Tpm.Codec;
using DeviceTrust.Tpm.EventLog;
using DeviceTrust.Tpm.Verification;
using static DeviceTrust.Testing.TcgLogWriter;

namespace DeviceTrust.Tpm.Tests;

/// <summary>Boot facts read from verified logs (made by our writer from the PC Client profile's layouts), and the boot policy over them.</summary>
public sealed class MeasuredBootTests
{
    private static readonly byte[] Shim = Enumerable.Repeat((byte)0x5a, 32).ToArray();
    private static readonly byte[] Grub = Enumerable.Repeat((byte)0x6b, 32).ToArray();
    private static readonly byte[] Revoked = Enumerable.Repeat((byte)0x7c, 32).ToArray();

    private static Event SecureBoot(byte value) =>
        new(7, UefiEvents.EvEfiVariableDriverConfig, Variable(UefiEvents.GlobalVariable, "SecureBoot", [value]));

    private static Event Dbx(params byte[][] hashes) =>
        new(7, UefiEvents.EvEfiVariableDriverConfig, Variable(UefiEvents.ImageSecurityDatabase, "dbx", Sha256SignatureList(hashes)));

    /// <summary>An application the firmware started: its digest is the image's Authenticode hash, not a hash of the event data.</summary>
    private static Event Application(byte[] authenticode) => new(4, UefiEvents.EvEfiBootServicesApplication, new byte[40], Sha256: authenticode);

    /// <summary>The log, and the PCR values a TPM extended with its events would quote (what a verified quote leaves).</summary>
    private static (BootFacts Facts, IReadOnlyList<PcrValue> Pcrs) Verified(params Event[] events)
    {
        var raw = Agile(events, TpmAlg.Sha256);
        var log = TcgEventLog.Parse(raw);
        var pcrs = log.Replay().Select(p => new PcrValue(p.Key.Hash, p.Key.Index, p.Value)).ToList();
        log.Verify(pcrs);
        return (BootFacts.Read(log, raw, pcrs), pcrs);
    }

    private static BootPolicy Policy(bool secureBoot = false, IReadOnlyList<string>? applications = null, IReadOnlyList<string>? dbx = null,
        IReadOnlyList<GoldenPcr>? pcrs = null) => new(pcrs ?? [], secureBoot, applications, dbx ?? []);

    [Fact]
    public void Secure_boot_and_the_dbx_are_read_from_pcr_7_and_a_policy_requiring_them_is_met()
    {
        var (facts, pcrs) = Verified(SecureBoot(1), Dbx(Revoked, Shim));
        Assert.True(facts.SecureBoot);
        Assert.Equal(2, facts.DbxSha256!.Count);
        Policy(secureBoot: true, dbx: [Convert.ToHexStringLower(Revoked)]).Check(pcrs, facts);
    }

    [Fact]
    public void Secure_boot_off_is_refused_by_name()
    {
        var (facts, pcrs) = Verified(SecureBoot(0));
        Assert.False(facts.SecureBoot);
        Assert.Equal("Secure Boot is disabled (the SecureBoot variable measured in PCR 7 is 0), and the boot policy requires it",
            Assert.Throws<TpmVerificationException>(() => Policy(secureBoot: true).Check(pcrs, facts)).Message);
    }

    [Fact]
    public void A_variable_whose_data_is_not_what_its_digest_measured_establishes_nothing()
    {
        // the TPM was extended with "SecureBoot = 0", and the log's data says 1: replay matches, the data lies
        var forged = SecureBoot(1) with { Digested = Variable(UefiEvents.GlobalVariable, "SecureBoot", [0]) };
        var (facts, pcrs) = Verified(forged);
        Assert.Null(facts.SecureBoot);
        Assert.Equal("the boot policy requires Secure Boot, and it is not established: event 1 (EV_EFI_VARIABLE_DRIVER_CONFIG SecureBoot, PCR 7): " +
                     "its SHA256 digest is not the hash of its data, so its data is not what was measured",
            Assert.Throws<TpmVerificationException>(() => Policy(secureBoot: true).Check(pcrs, facts)).Message);
    }

    [Fact]
    public void A_variable_with_lengths_that_do_not_add_up_establishes_nothing()
    {
        var data = Variable(UefiEvents.GlobalVariable, "SecureBoot", [1]);
        data[16] = 200; // the name would be 200 characters
        var (facts, _) = Verified(new Event(7, UefiEvents.EvEfiVariableDriverConfig, data));
        Assert.Null(facts.SecureBoot);
        Assert.Equal("event 1 in PCR 7: UEFI variable event: its name and data lengths do not match its size", facts.SecureBootUnknown);
    }

    [Fact]
    public void Only_listed_boot_applications_are_allowed_and_a_log_without_pcr_4_does_not_pass_for_one_with_none()
    {
        var (facts, pcrs) = Verified(Application(Shim), SecureBoot(1));
        var started = facts.BootApplications.Single();
        Assert.Equal(Convert.ToHexStringLower(Shim), started);
        Policy(applications: [started]).Check(pcrs, facts);
        Assert.Equal($"boot application sha256:{started} (PCR 4) is not one the boot policy allows",
            Assert.Throws<TpmVerificationException>(() => Policy(applications: [Convert.ToHexStringLower(Grub)]).Check(pcrs, facts)).Message);
        // an attacker who leaves PCR 4 out of the log does not get "no application started, so none is foreign"
        var (bare, barePcrs) = Verified(SecureBoot(1));
        Assert.Equal("the boot policy lists the allowed boot applications, and they are not established: the event log measures nothing in PCR 4",
            Assert.Throws<TpmVerificationException>(() => Policy(applications: [started]).Check(barePcrs, bare)).Message);
    }

    [Fact]
    public void A_dbx_without_a_required_revocation_is_refused()
    {
        var (facts, pcrs) = Verified(SecureBoot(1), Dbx(Shim));
        Assert.Equal($"the dbx measured in PCR 7 does not revoke sha256:{Convert.ToHexStringLower(Revoked)}, which the boot policy requires",
            Assert.Throws<TpmVerificationException>(() => Policy(dbx: [Convert.ToHexStringLower(Revoked)]).Check(pcrs, facts)).Message);
    }

    [Fact]
    public void A_golden_pcr_mismatch_names_the_pcr_and_its_value_and_rules_on_the_log_need_a_log()
    {
        var (facts, pcrs) = Verified(SecureBoot(1));
        var pcr7 = pcrs.Single(p => p.Hash == TpmAlg.Sha256 && p.Index == 7);
        Policy(pcrs: [new GoldenPcr(TpmAlg.Sha256, 7, [new byte[32], pcr7.Digest])]).Check(pcrs, facts);
        Assert.Equal($"PCR SHA256:7 is {Convert.ToHexStringLower(pcr7.Digest)}, which the boot policy does not allow",
            Assert.Throws<TpmVerificationException>(() => Policy(pcrs: [new GoldenPcr(TpmAlg.Sha256, 7, [new byte[32]])]).Check(pcrs, facts)).Message);
        Assert.Equal("the boot policy checks the event log, and the device sent none " +
                "(dtsh sends the firmware's log when it can read /sys/kernel/security/tpm0/binary_bios_measurements, root's by default, or its copy in /run/devicetrust/)",
            Assert.Throws<TpmVerificationException>(() => Policy(secureBoot: true).Check(pcrs, null)).Message);
        Assert.Equal("sha256:4,7", QuotePolicy.Spec(Policy(secureBoot: true, applications: []).QuotedPcrs()));
    }

    [Theory]
    [InlineData("sha256:0-7", "sha256:0-7")]
    [InlineData("SHA256:7,0-3 sha1:0", "sha256:0-3,7 sha1:0")]
    [InlineData("sha256:0-9,14", "sha256:0-9,14")]
    public void A_pcr_set_is_read_and_written_back(string spec, string written) =>
        Assert.Equal(written, QuotePolicy.Spec(QuotePolicy.ParseBanks(spec)));

    [Theory]
    [InlineData("", "give 1 to 4 banks, like sha256:0-7")]
    [InlineData("md5:0", "\"md5:0\" is not bank:PCRs with a bank of sha1, sha256, sha384 or sha512")]
    [InlineData("sha256", "\"sha256\" names no PCRs: write sha256:0-7")]
    [InlineData("sha256:0-24", "PCRs 0-24 are not in 0-23 in order")]
    [InlineData("sha256:7-0", "PCRs 7-0 are not in 0-23 in order")]
    [InlineData("sha256:a", "\"a\" is not a PCR number or range like 0-7")]
    [InlineData("sha256:0 sha256:1", "bank sha256 is given twice")]
    public void A_bad_pcr_set_is_refused_with_what_is_wrong(string spec, string reason) =>
        Assert.Equal(reason, Assert.Throws<TpmFormatException>(() => QuotePolicy.ParseBanks(spec)).Message);
}
