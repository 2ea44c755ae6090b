using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using DeviceTrust.Tpm.Codec;
using DeviceTrust.Tpm.Structures;
using DeviceTrust.Tpm.Verification;

namespace DeviceTrust.Tpm.Tests;

/// <summary>
/// Each mutation of real evidence is refused, with its own reason. Offsets refer to the fixture layouts: TPMS_ATTEST
/// = magic(4) type(2) qualifiedSigner(2+34) extraData(2+20) clockInfo(17) firmware(8) then the quote info.
/// </summary>
public class MutationTests
{
    private const int ExtraDataOffset = 4 + 2 + 36 + 2;
    private const int QuoteInfoOffset = ExtraDataOffset + 20 + 17 + 8;

    private static byte[] Flip(byte[] data, int offset, byte mask = 0x01)
    {
        var copy = data.ToArray();
        copy[offset] ^= mask;
        return copy;
    }

    /// <summary>Verifies an RSA (or the given kind's) quote with some of its parts replaced.</summary>
    private static string Refusal(string kind = "rsa", byte[]? attest = null, byte[]? sig = null, byte[]? nonce = null, List<PcrValue>? pcrs = null,
        TpmPublic? ak = null, byte[]? qualifiedSigner = null)
    {
        var error = Assert.ThrowsAny<Exception>(() => QuoteVerifier.Verify(
            ak ?? Fixture.Public($"{kind}/ak.pub"),
            attest ?? Fixture.Bytes($"{kind}/quote-1.attest"),
            sig ?? Fixture.Bytes($"{kind}/quote-1.sig"),
            nonce ?? Fixture.Bytes($"{kind}/quote-1.nonce"),
            pcrs ?? Fixture.Pcrs($"{kind}/quote-1.pcrs"),
            qualifiedSigner ?? Fixture.Bytes($"{kind}/ak.qname")));
        Assert.True(error is TpmVerificationException or TpmFormatException, error.ToString());
        return error.Message;
    }

    // ---- quotes -------------------------------------------------------------------------------------------------

    [Theory]
    [InlineData("rsa", 6 + 40)]
    [InlineData("rsapss", 6 + 100)]
    [InlineData("ecc", 6 + 10)]
    public void A_flipped_signature_bit_is_refused(string kind, int offset) =>
        Assert.Equal("quote signature does not verify with the AK", Refusal(kind, sig: Flip(Fixture.Bytes($"{kind}/quote-1.sig"), offset)));

    [Fact]
    public void A_flipped_bit_in_the_signed_quote_is_refused() =>
        Assert.Equal("quote signature does not verify with the AK", Refusal(attest: Flip(Fixture.Bytes("rsa/quote-1.attest"), QuoteInfoOffset + 20)));

    [Fact]
    public void A_foreign_nonce_is_refused() =>
        Assert.Equal("quote nonce does not match the challenge", Refusal(nonce: RandomNumberGenerator.GetBytes(20)));

    [Fact]
    public void A_nonce_of_another_length_is_refused() =>
        Assert.Equal("quote nonce does not match the challenge", Refusal(nonce: Fixture.Bytes("rsa/quote-1.nonce")[..19]));

    [Fact]
    public void A_changed_pcr_value_is_refused()
    {
        var pcrs = Fixture.Pcrs("rsa/quote-1.pcrs");
        pcrs[3] = pcrs[3] with { Digest = Flip(pcrs[3].Digest, 0) };
        Assert.Equal("PCR digest does not match the reported PCR values", Refusal(pcrs: pcrs));
    }

    [Fact]
    public void A_missing_pcr_value_is_refused()
    {
        var pcrs = Fixture.Pcrs("rsa/quote-1.pcrs");
        pcrs.RemoveAt(2);
        Assert.Equal("PCR SHA256:2 is quoted but its value was not reported", Refusal(pcrs: pcrs));
    }

    [Fact]
    public void Reported_pcrs_the_quote_does_not_cover_are_dropped_not_trusted()
    {
        // devices report what they read: several banks, more PCRs; only what the quote covers counts
        var quoted = Fixture.Pcrs("rsa/quote-1.pcrs");
        var reported = quoted.Concat(quoted.Select(p => p with { Hash = TpmAlg.Sha1, Digest = p.Digest[..20] }))
            .Append(new PcrValue(TpmAlg.Sha256, 10, new byte[32])).ToList();
        var verified = QuoteVerifier.VerifyCovered(Fixture.Public("rsa/ak.pub"), Fixture.Bytes("rsa/quote-1.attest"), Fixture.Bytes("rsa/quote-1.sig"),
            Fixture.Bytes("rsa/quote-1.nonce"), reported, QuotePolicy.Default, Fixture.Bytes("rsa/ak.qname"));
        Assert.Equal(quoted.Select(p => (p.Hash, p.Index, Convert.ToHexString(p.Digest))), verified.Pcrs.Select(p => (p.Hash, p.Index, Convert.ToHexString(p.Digest))));
    }

    [Fact]
    public void A_quote_over_fewer_pcrs_than_the_policy_requires_or_over_an_empty_bank_is_refused()
    {
        using var key = RSA.Create(2048);
        var fewer = Resign(key, Fixture.Bytes("rsa/quote-1.attest"), a => a[QuoteInfoOffset + 4 + 2 + 1] = 0x7F);
        Assert.Equal("the quote does not cover PCR SHA256:7; the cluster requires SHA256:0-7", PolicyRefusal(fewer, QuotePolicy.Default));
        var empty = Resign(key, Fixture.Bytes("rsa/quote-1.attest"), a => a[QuoteInfoOffset + 4 + 2 + 1] = 0x00);
        Assert.Equal("the quote selects bank SHA256 but no PCR in it", PolicyRefusal(empty, QuotePolicy.None));
        var stricter = new QuotePolicy([new PcrBank(TpmAlg.Sha256, [0, 1, 2, 3, 4, 5, 6, 7, 9]), new PcrBank(TpmAlg.Sha1, [0])]);
        Assert.Equal("the quote does not cover PCR SHA256:9; the cluster requires SHA256:0-7,9 and SHA1:0",
            PolicyRefusal((Fixture.Public("rsa/ak.pub"), Fixture.Bytes("rsa/quote-1.attest"), Fixture.Bytes("rsa/quote-1.sig")), stricter));
    }

    private static string PolicyRefusal((TpmPublic Ak, byte[] Attest, byte[] Sig) quote, QuotePolicy policy) =>
        Assert.Throws<TpmVerificationException>(() => QuoteVerifier.VerifyCovered(quote.Ak, quote.Attest, quote.Sig, Fixture.Bytes("rsa/quote-1.nonce"),
            Fixture.Pcrs("rsa/quote-1.pcrs"), policy)).Message;

    [Fact]
    public void Pcr_values_in_another_bank_are_refused()
    {
        var pcrs = Fixture.Pcrs("rsa/quote-1.pcrs").Select(p => p with { Hash = TpmAlg.Sha1, Digest = p.Digest[..20] }).ToList();
        Assert.Equal("PCR SHA256:0 is quoted but its value was not reported", Refusal(pcrs: pcrs));
    }

    [Fact]
    public void A_changed_pcr_selection_is_refused()
    {
        // selection bitmap byte 0 of bank 1 (PCRs 0-7): drop PCR 0; the signature no longer covers it
        Assert.Equal("quote signature does not verify with the AK", Refusal(attest: Flip(Fixture.Bytes("rsa/quote-1.attest"), QuoteInfoOffset + 4 + 2 + 1)));
    }

    [Fact]
    public void A_changed_pcr_selection_is_refused_even_with_a_valid_signature()
    {
        // the verifier's own check, independent of the signature: a re-signed quote selecting fewer PCRs than its digest covers
        using var key = RSA.Create(2048);
        var (ak, attest, sig) = Resign(key, Fixture.Bytes("rsa/quote-1.attest"), a => a[QuoteInfoOffset + 4 + 2 + 1] = 0x7F);
        Assert.Equal("PCR digest does not match the reported PCR values", Refusal(attest: attest, sig: sig, ak: ak, qualifiedSigner: null));
    }

    [Fact]
    public void A_wrong_magic_is_refused_even_when_signed()
    {
        using var key = RSA.Create(2048);
        var (ak, attest, sig) = Resign(key, Fixture.Bytes("rsa/quote-1.attest"), a => a[0] = 0x00);
        Assert.Equal("attestation is malformed: magic 0x00544347 is not TPM_GENERATED_VALUE: the TPM did not produce this", Refusal(attest: attest, sig: sig, ak: ak));
    }

    [Fact]
    public void A_wrong_attestation_type_is_refused_even_when_signed()
    {
        using var key = RSA.Create(2048);
        var (ak, attest, sig) = Resign(key, Fixture.Bytes("rsa/quote-1.attest"), a => a[5] = 0x19); // TPM_ST_ATTEST_TIME
        Assert.Equal("attestation is malformed: type 0x8019: only quote, creation and certify attestations are accepted", Refusal(attest: attest, sig: sig, ak: ak));
    }

    [Fact]
    public void A_quote_signed_by_another_ak_is_refused() =>
        Assert.Equal("quote signature does not verify with the AK", Refusal(ak: Fixture.Public("rsapss/ak.pub"), sig: Fixture.Bytes("rsa/quote-1.sig")
            .Select((b, i) => i == 0 ? (byte)0x00 : i == 1 ? (byte)0x16 : b).ToArray()));

    [Fact]
    public void A_signature_scheme_other_than_the_aks_is_refused()
    {
        var sig = Fixture.Bytes("rsa/quote-1.sig");
        sig[1] = 0x16; // RSASSA -> RSAPSS with the same bytes
        Assert.Equal("signature scheme RSAPSS/SHA256 is not the AK's RSASSA/SHA256", Refusal(sig: sig));
    }

    [Fact]
    public void A_quote_from_another_aks_qualified_name_is_refused() =>
        Assert.Equal("quote was signed by another key than the enrolled AK under its EK", Refusal(qualifiedSigner: Fixture.Bytes("rsapss/ak.qname")));

    [Fact]
    public void A_truncated_signature_is_refused() =>
        Assert.Equal("signature is malformed: RSA signature: truncated (needs 256 byte(s), 94 left)", Refusal(sig: Fixture.Bytes("rsa/quote-1.sig")[..100]));

    [Fact]
    public void A_signature_with_trailing_bytes_is_refused() =>
        Assert.Equal("signature is malformed: TPMT_SIGNATURE: 1 trailing byte(s)", Refusal(sig: [.. Fixture.Bytes("rsa/quote-1.sig"), 0]));

    [Fact]
    public void A_quote_with_trailing_bytes_is_refused_even_when_signed()
    {
        using var key = RSA.Create(2048);
        var (ak, attest, sig) = Resign(key, [.. Fixture.Bytes("rsa/quote-1.attest"), 0], _ => { });
        Assert.Equal("attestation is malformed: TPMS_ATTEST: 1 trailing byte(s)", Refusal(attest: attest, sig: sig, ak: ak));
    }

    [Fact]
    public void An_ecdsa_signature_with_an_oversized_coordinate_is_refused()
    {
        var sig = Fixture.Bytes("ecc/quote-1.sig").ToList();
        // r: size 0x0020 -> 0x0021 with one extra leading byte
        sig[4] = 0x00;
        sig[5] = 0x21;
        sig.Insert(6, 0x01);
        Assert.Equal("quote signature does not verify with the AK", Refusal("ecc", sig: sig.ToArray()));
    }

    // ---- public areas ---------------------------------------------------------------------------------------------

    private static byte[] AkArea(string kind = "rsa") => Fixture.Bytes($"{kind}/ak.pub")[2..];

    private static string AkRefusal(Action<byte[]> mutate)
    {
        var area = AkArea();
        mutate(area);
        return Assert.Throws<TpmVerificationException>(() => AkChecks.Check(TpmPublic.Parse(area))).Message;
    }

    [Theory]
    [InlineData(0x02, "FixedTpm")]
    [InlineData(0x10, "FixedParent")]
    [InlineData(0x20, "SensitiveDataOrigin")]
    public void An_ak_missing_a_required_low_attribute_is_refused(byte bit, string name) =>
        Assert.Equal($"AK attributes lack {name}: it must be a restricted signing key created in the TPM", AkRefusal(a => a[7] &= (byte)~bit));

    [Fact]
    public void An_ak_that_is_not_restricted_is_refused() => Assert.Equal("AK attributes lack Restricted: it must be a restricted signing key created in the TPM", AkRefusal(a => a[5] &= 0xFE));

    [Fact]
    public void An_ak_that_cannot_sign_is_refused() => Assert.Equal("AK attributes lack Sign: it must be a restricted signing key created in the TPM", AkRefusal(a => a[5] &= 0xFB));

    [Fact]
    public void An_ak_that_can_also_decrypt_is_refused() => Assert.Equal("AK has the decrypt attribute: an attestation key must only sign", AkRefusal(a => a[5] |= 0x02));

    [Fact]
    public void An_ak_with_a_symmetric_algorithm_is_refused()
    {
        // RSA AK: ... authPolicy(0000) | symmetric 0010 -> AES-128-CFB (adds 4 bytes)
        var area = AkArea().ToList();
        area[10] = 0x00;
        area[11] = 0x06;
        area.InsertRange(12, new byte[] { 0x00, 0x80, 0x00, 0x43 });
        Assert.Equal("AK has a symmetric algorithm: a signing key must have NULL", Assert.Throws<TpmVerificationException>(() => AkChecks.Check(TpmPublic.Parse(area.ToArray()))).Message);
    }

    [Fact]
    public void A_truncated_public_area_is_refused() =>
        Assert.Equal("TPM2B_PUBLIC: truncated (needs 280 byte(s), 198 left)", Assert.Throws<TpmFormatException>(() => TpmPublic.ParseSized(Fixture.Bytes("rsa/ak.pub").AsSpan(0, 200))).Message);

    [Fact]
    public void A_tpm2b_whose_size_overruns_is_refused()
    {
        var data = Fixture.Bytes("ecc/ak.pub");
        data[1] += 1; // TPM2B size one larger than the bytes that follow
        Assert.Equal("TPM2B_PUBLIC: truncated (needs 89 byte(s), 88 left)", Assert.Throws<TpmFormatException>(() => TpmPublic.ParseSized(data)).Message);
    }

    [Fact]
    public void A_public_area_with_trailing_bytes_is_refused() =>
        Assert.Equal("TPMT_PUBLIC: 1 trailing byte(s)", Assert.Throws<TpmFormatException>(() => TpmPublic.Parse([.. AkArea(), 0])).Message);

    [Fact]
    public void An_unknown_key_type_is_refused()
    {
        var area = AkArea();
        area[1] = 0x08; // KEYEDHASH
        Assert.Equal("type: unsupported key type 0x0008 (RSA and ECC only)", Assert.Throws<TpmFormatException>(() => TpmPublic.Parse(area)).Message);
    }

    [Fact]
    public void An_unknown_name_algorithm_is_refused()
    {
        var area = AkArea();
        area[3] = 0x12; // SM3_256
        Assert.Equal("nameAlg: unsupported algorithm 0x0012", Assert.Throws<TpmFormatException>(() => TpmPublic.Parse(area)).Message);
    }

    [Fact]
    public void An_rsa_key_below_2048_bits_is_refused()
    {
        var area = AkArea();
        area[16] = 0x04; // keyBits 0x0800 -> 0x0400
        Assert.Equal("RSA keyBits 1024: only 2048 to 4096 bits are accepted", Assert.Throws<TpmFormatException>(() => TpmPublic.Parse(area)).Message);
    }

    [Fact]
    public void An_unsupported_curve_is_refused()
    {
        var area = AkArea("ecc");
        area[17] = 0x10; // curve 0x0003 -> 0x0010
        Assert.Equal("unsupported ECC curve 0x0010", Assert.Throws<TpmFormatException>(() => TpmPublic.Parse(area)).Message);
    }

    // ---- endorsement keys and credentials ---------------------------------------------------------------------------

    [Fact]
    public void An_ek_certificate_from_another_ca_is_refused()
    {
        using var certificate = EkChecks.LoadCertificate(Fixture.Bytes("rsa/ek-cert.der"));
        using var otherKey = RSA.Create(2048);
        using var other = new CertificateRequest("CN=Other TPM Vendor Root", otherKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1)
            .CreateSelfSigned(DateTimeOffset.UtcNow.AddYears(-1), DateTimeOffset.UtcNow.AddYears(10));
        Assert.StartsWith("PartialChain: ", EkChecks.ChainError(certificate, [other], [Fixture.Intermediate], Fixture.VerificationTime));
        Assert.Equal("no EK certificate CAs are configured", EkChecks.ChainError(certificate, [], [Fixture.Intermediate], Fixture.VerificationTime));
        // the right CA chains it: the refusal above is about the CA, not the certificate
        Assert.Null(EkChecks.ChainError(certificate, [Fixture.Root_], [Fixture.Intermediate], Fixture.VerificationTime));
    }

    [Fact]
    public void An_ek_certificate_for_another_key_is_refused()
    {
        using var certificate = EkChecks.LoadCertificate(Fixture.Bytes("rsa/ek-cert.der"));
        Assert.Equal("EK certificate key does not match the EK public area",
            Assert.Throws<TpmVerificationException>(() => EkChecks.CheckCertificateKey(certificate, Fixture.Public("p384/ek.pub"))).Message);
    }

    [Fact]
    public void A_signing_key_posing_as_an_ek_is_refused() =>
        Assert.Equal("EK attributes lack Decrypt: not an endorsement key", Assert.Throws<TpmVerificationException>(() => EkChecks.CheckTemplate(Fixture.Public("rsa/ak.pub"))).Message);

    [Fact]
    public void Creation_evidence_for_another_key_is_refused() =>
        Assert.Equal("creation attestation names another object than the AK", Assert.Throws<TpmVerificationException>(() =>
            AkChecks.CheckCreation(Fixture.Public("rsa/ak.pub"), Fixture.Bytes("akcreation/creation-data"), Fixture.Bytes("akcreation/creation-attest"),
                Fixture.Bytes("akcreation/creation-sig"))).Message);

    [Fact]
    public void Changed_creation_data_is_refused() =>
        Assert.Equal("creation hash does not match the creation data", Assert.Throws<TpmVerificationException>(() =>
            AkChecks.CheckCreation(Fixture.Public("akcreation/ak.pub"), Flip(Fixture.Bytes("akcreation/creation-data"), 20),
                Fixture.Bytes("akcreation/creation-attest"), Fixture.Bytes("akcreation/creation-sig"))).Message);

    /// <summary>Applies a mutation to attestation bytes and signs them with a key of the test's, returned as an RSASSA AK.</summary>
    private static (TpmPublic Ak, byte[] Attest, byte[] Sig) Resign(RSA key, byte[] attest, Action<byte[]> mutate)
    {
        var mutated = attest.ToArray();
        mutate(mutated);
        var parameters = key.ExportParameters(false);
        var area = new TpmWriter().U16(TpmAlg.Rsa).U16(TpmAlg.Sha256).U32(0x00050072).Sized([]).U16(TpmAlg.Null)
            .U16(TpmAlg.RsaSsa).U16(TpmAlg.Sha256).U16(2048).U32(0).Sized(parameters.Modulus).ToArray();
        var signature = key.SignData(mutated, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var sig = new TpmWriter().U16(TpmAlg.RsaSsa).U16(TpmAlg.Sha256).Sized(signature).ToArray();
        return (TpmPublic.Parse(area), mutated, sig);
    }

}

public class CredentialBlobTests
{
    [Theory]
    [InlineData("rsa")]
    [InlineData("ecc")]
    [InlineData("p384")]
    public void Made_credentials_parse_back_with_the_eks_sizes(string kind)
    {
        var ek = Fixture.Public($"{kind}/ek.pub");
        var made = DeviceTrust.Tpm.Credentials.CredentialMaker.Make(ek, Fixture.Public("ecc/ak.pub").Name(), new byte[32]);
        var idObject = IdObject.Parse(made.IdObject);
        Assert.Equal(DeviceTrust.Tpm.Codec.TpmAlg.DigestSize(ek.NameAlg), idObject.IntegrityHmac.Length);
        Assert.Equal(34, idObject.EncIdentity.Length); // TPM2B_DIGEST of a 32-byte secret, CFB keeps the length
        EncryptedSecret.Parse(made.EncryptedSecret, ek);
        Assert.Contains("truncated (needs ", Assert.Throws<DeviceTrust.Tpm.Codec.TpmFormatException>(() => IdObject.Parse(made.IdObject.AsSpan(0, made.IdObject.Length - 1))).Message);
        Assert.EndsWith(": 1 trailing byte(s)", Assert.Throws<DeviceTrust.Tpm.Codec.TpmFormatException>(() => EncryptedSecret.Parse([.. made.EncryptedSecret, 0], ek)).Message);
    }
}
