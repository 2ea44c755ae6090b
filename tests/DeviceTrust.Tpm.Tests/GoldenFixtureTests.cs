using DeviceTrust.Tpm.Codec;
using DeviceTrust.Tpm.Structures;
using DeviceTrust.Tpm.Verification;

namespace DeviceTrust.Tpm.Tests;

/// <summary>Real artifacts from swtpm + tpm2-tools parse and verify.</summary>
public class GoldenFixtureTests
{
    public static TheoryData<string, int> Quotes => new()
    {
        { "rsa", 1 }, { "rsa", 2 }, { "rsapss", 1 }, { "rsapss", 2 }, { "ecc", 1 }, { "ecc", 2 },
    };

    [Theory]
    [MemberData(nameof(Quotes))]
    public void Quotes_made_by_tpm2_quote_verify(string kind, int n)
    {
        var ak = Fixture.Public($"{kind}/ak.pub");
        var quote = QuoteVerifier.Verify(ak, Fixture.Bytes($"{kind}/quote-{n}.attest"), Fixture.Bytes($"{kind}/quote-{n}.sig"),
            Fixture.Bytes($"{kind}/quote-{n}.nonce"), Fixture.Pcrs($"{kind}/quote-{n}.pcrs"), Fixture.Bytes($"{kind}/ak.qname"));
        Assert.Equal(TpmAttest.TypeQuote, quote.Type);
        Assert.Equal(n, quote.PcrSelect.Count);
    }

    [Theory]
    [InlineData("rsa", TpmAlg.Rsa, TpmAlg.RsaSsa)]
    [InlineData("rsapss", TpmAlg.Rsa, TpmAlg.RsaPss)]
    [InlineData("ecc", TpmAlg.Ecc, TpmAlg.EcDsa)]
    public void Attestation_keys_parse_and_pass_the_ak_checks(string kind, ushort type, ushort scheme)
    {
        var ak = Fixture.Public($"{kind}/ak.pub");
        Assert.Equal(type, ak.Type);
        Assert.Equal(scheme, ak.Scheme);
        Assert.Equal((ObjectAttributes)0x00050072, ak.Attributes);
        AkChecks.Check(ak);
    }

    [Theory]
    [InlineData("rsa")]
    [InlineData("rsapss")]
    [InlineData("ecc")]
    public void Our_name_and_qualified_name_equal_the_tpms(string kind)
    {
        var ak = Fixture.Public($"{kind}/ak.pub");
        var ek = Fixture.Public($"{kind}/ek.pub");
        Assert.Equal(Fixture.Bytes($"{kind}/ak.name"), ak.Name());
        var ekQualified = QuoteVerifier.QualifiedName(ek.NameAlg, QuoteVerifier.EndorsementHierarchy, ek.Name());
        Assert.Equal(Fixture.Bytes($"{kind}/ak.qname"), QuoteVerifier.QualifiedName(ak.NameAlg, ekQualified, ak.Name()));
    }

    [Theory]
    [InlineData("rsa/ek.pub", TpmAlg.Rsa, TpmAlg.Sha256, 128)]
    [InlineData("ecc/ek.pub", TpmAlg.Ecc, TpmAlg.Sha256, 128)]
    [InlineData("p384/ek.pub", TpmAlg.Ecc, TpmAlg.Sha384, 256)]
    public void Endorsement_keys_parse_and_pass_the_template_checks(string file, ushort type, ushort nameAlg, int aesBits)
    {
        var ek = Fixture.Public(file);
        Assert.Equal(type, ek.Type);
        Assert.Equal(nameAlg, ek.NameAlg);
        Assert.Equal(aesBits, ek.SymmetricKeyBits);
        EkChecks.CheckTemplate(ek);
    }

    [Theory]
    [InlineData("rsa")]
    [InlineData("p384")]
    public void Ek_certificates_carry_the_ek_and_chain_to_the_manufacturer_ca(string kind)
    {
        using var certificate = EkChecks.LoadCertificate(Fixture.Bytes($"{kind}/ek-cert.der"));
        EkChecks.CheckCertificateKey(certificate, Fixture.Public($"{kind}/ek.pub"));
        Assert.Contains(certificate.Extensions, e => e.Oid?.Value == "2.5.29.17" && e.Critical); // the TCG profile's critical SAN
        Assert.Null(EkChecks.ChainError(certificate, [Fixture.Root_], [Fixture.Intermediate], Fixture.VerificationTime));
    }

    [Fact]
    public void Creation_evidence_of_an_ak_made_under_the_ek_verifies()
    {
        var ak = Fixture.Public("akcreation/ak.pub");
        AkChecks.Check(ak);
        var data = AkChecks.CheckCreation(ak, Fixture.Bytes("akcreation/creation-data"), Fixture.Bytes("akcreation/creation-attest"),
            Fixture.Bytes("akcreation/creation-sig"));
        Assert.Equal(Fixture.Public("akcreation/ek.pub").Name(), data.ParentName);
    }

    [Fact]
    public void Pcr_selection_round_trips()
    {
        var quote = TpmAttest.Parse(Fixture.Bytes("rsa/quote-2.attest"));
        Assert.Equal([TpmAlg.Sha1, TpmAlg.Sha256], quote.PcrSelect.Select(b => b.Hash));
        Assert.Equal([0, 4, 7], quote.PcrSelect[0].Pcrs);
        Assert.Equal([0, 4, 7, 16, 23], quote.PcrSelect[1].Pcrs);
    }
}
