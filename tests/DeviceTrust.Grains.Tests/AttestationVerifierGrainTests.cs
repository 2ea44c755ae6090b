using DeviceTrust.Core.Devices;
using DeviceTrust.Core.Errors;
using DeviceTrust.Grains.Attestation;
using DeviceTrust.Tpm.Structures;
using DeviceTrust.Tpm.Verification;

namespace DeviceTrust.Grains.Tests;

/// <summary>The stateless verifier on the golden fixtures from swtpm (tests/tpm/make-fixtures.sh).</summary>
public sealed class AttestationVerifierGrainTests(SqliteClusterFixture fixture) : IClassFixture<SqliteClusterFixture>
{
    private static readonly string Fixtures = Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "DeviceTrust.Tpm.Tests", "Fixtures");

    private static byte[] Bytes(string relative) => File.ReadAllBytes(Path.Combine(Fixtures, relative));

    private IAttestationVerifierGrain Verifier => fixture.Silo.Grains.GetGrain<IAttestationVerifierGrain>(0);

    private static readonly DevicePolicy Open = new([], AttestationType.Unspecified);

    private static TpmEnrollmentOffer Offer(string ak, TpmCreationEvidence? creation = null, byte[]? ekCert = null) =>
        new(ekCert, Bytes("rsa/ek.pub"), Bytes(ak), TpmCredentials.IdOf(TpmPublic.ParseSized(Bytes(ak))), creation);

    [Fact]
    public async Task An_ak_with_its_creation_evidence_under_the_ek_is_accepted()
    {
        var plan = await Verifier.PrepareEnrollmentAsync(Offer("akcreation/ak.pub",
            new TpmCreationEvidence(Bytes("akcreation/creation-data"), Bytes("akcreation/creation-attest"), Bytes("akcreation/creation-sig"))), Open);
        Assert.Equal(AttestationType.TpmEkPub, plan.AttestationType);
        Assert.Equal(32, plan.Secret.Length);
    }

    [Fact]
    public async Task Creation_evidence_for_another_parent_is_refused()
    {
        var offer = Offer("akcreation/ak.pub", new TpmCreationEvidence(Bytes("akcreation/creation-data"), Bytes("akcreation/creation-attest"), Bytes("akcreation/creation-sig")))
            with
        { EkPublic = Bytes("ecc/ek.pub") };
        var error = await Assert.ThrowsAsync<DeviceTrustException>(() => Verifier.PrepareEnrollmentAsync(offer, Open));
        Assert.Equal("the AK's creation data names another parent than the EK", error.Message);
    }

    [Fact]
    public async Task A_claimed_credential_id_that_is_not_the_aks_is_refused() =>
        Assert.Contains("credential_id must be", (await Assert.ThrowsAsync<DeviceTrustException>(() =>
            Verifier.PrepareEnrollmentAsync(Offer("rsa/ak.pub") with { CredentialId = new string('0', 64) }, Open))).Message);

    [Fact]
    public async Task An_unverified_ek_certificate_or_ek_public_key_is_self_asserted_and_meets_no_tpm_minimum()
    {
        Assert.Equal(AttestationType.TpmEkCert, (await Verifier.PrepareEnrollmentAsync(Offer("rsa/ak.pub", ekCert: Bytes("rsa/ek-cert.der")), Open)).AttestationType);
        foreach (var (offer, claimed) in new[] { (Offer("rsa/ak.pub"), "tpm_ekpub"), (Offer("rsa/ak.pub", ekCert: Bytes("rsa/ek-cert.der")), "tpm_ekcert") })
        {
            // a minimum stored before the rule as a self-asserted class is read as the proven class of its kind
            foreach (var minimum in new[] { AttestationType.TpmEkPubPinned, AttestationType.TpmEkPub })
            {
                var error = await Assert.ThrowsAsync<DeviceTrustException>(() => Verifier.PrepareEnrollmentAsync(offer, new DevicePolicy([], minimum)));
                Assert.Equal(ErrorKind.PermissionDenied, error.Kind);
                Assert.Equal($"the device's attestation {claimed} is self-asserted and does not meet the cluster's minimum tpm_ekpub_pinned: the device needs " +
                             "its EK pinned in the inventory (dtctl devices update --ek-hash or --ek-pub) or an EK certificate that chains to an allowed EK CA", error.Message);
            }
        }
    }

    [Fact]
    public async Task A_pinned_ek_is_proven_and_another_ek_is_refused_whatever_certificate_it_brings()
    {
        var ek = EkPin.Of(TpmPublic.ParseSized(Bytes("rsa/ek.pub")).SubjectPublicKeyInfo());
        var pinned = await Verifier.PrepareEnrollmentAsync(Offer("rsa/ak.pub", ekCert: Bytes("rsa/ek-cert.der")), new DevicePolicy([], AttestationType.TpmEkPubPinned), ek);
        Assert.Equal((AttestationType.TpmEkPubPinned, ek), (pinned.AttestationType, pinned.EkSha256));
        var other = new string('a', 64);
        var error = await Assert.ThrowsAsync<DeviceTrustException>(() =>
            Verifier.PrepareEnrollmentAsync(Offer("rsa/ak.pub", ekCert: Bytes("rsa/ek-cert.der")), Open, other));
        Assert.Equal(ErrorKind.PermissionDenied, error.Kind);
        Assert.Equal($"the device's EK (sha256:{ek}) is not the one pinned in the inventory (sha256:{other})", error.Message);
    }

    [Fact]
    public async Task Golden_quotes_verify_and_a_foreign_nonce_does_not()
    {
        var evidence = Evidence("ecc/quote-1");
        var facts = await Verifier.VerifyQuoteAsync(Bytes("ecc/ak.pub"), evidence, Bytes("ecc/quote-1.nonce"), DevicePolicy.Open);
        Assert.True(facts.Clock.Clock > 0);
        Assert.Equal(Bytes("ecc/ak.qname"), facts.QualifiedSigner);
        var error = await Assert.ThrowsAsync<DeviceTrustException>(() => Verifier.VerifyQuoteAsync(Bytes("ecc/ak.pub"), evidence, new byte[20], DevicePolicy.Open));
        Assert.Equal(ErrorKind.PermissionDenied, error.Kind);
        Assert.Equal("quote nonce does not match the challenge", error.Message);
        // quote-2 is genuine but covers only SHA-256 PCRs 0, 4, 7, 16 and 23: not what a device must prove
        var partial = await Assert.ThrowsAsync<DeviceTrustException>(() => Verifier.VerifyQuoteAsync(Bytes("ecc/ak.pub"), Evidence("ecc/quote-2"), Bytes("ecc/quote-2.nonce"), DevicePolicy.Open));
        Assert.Equal(ErrorKind.PermissionDenied, partial.Kind);
        Assert.Equal("the quote does not cover PCR SHA256:1; the cluster requires SHA256:0-7", partial.Message);
    }

    private static TpmQuoteEvidence Evidence(string quote)
    {
        var pcrs = File.ReadAllLines(Path.Combine(Fixtures, quote + ".pcrs")).Where(l => l.Length > 0).Select(l => l.Split(' '))
            .Select(p => new TpmPcr(p[0] == "sha1" ? (ushort)0x0004 : (ushort)0x000B, int.Parse(p[1], System.Globalization.CultureInfo.InvariantCulture), Convert.FromHexString(p[2])))
            .ToList();
        return new TpmQuoteEvidence(Bytes(quote + ".attest"), Bytes(quote + ".sig"), pcrs, []);
    }
}
