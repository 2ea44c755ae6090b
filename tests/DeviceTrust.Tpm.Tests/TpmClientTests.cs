using System.Security.Cryptography;
using DeviceTrust.Testing;
using DeviceTrust.Tpm.Codec;
using DeviceTrust.Tpm.Credentials;
using DeviceTrust.Tpm.Device;
using DeviceTrust.Tpm.Structures;
using DeviceTrust.Tpm.Verification;

namespace DeviceTrust.Tpm.Tests;

/// <summary>A freshly manufactured software TPM for our own client.</summary>
public sealed class ClientTpmFixture : IAsyncLifetime
{
    public SoftwareTpm Tpm { get; private set; } = null!;

    public async Task InitializeAsync() => Tpm = await SoftwareTpm.StartAsync();

    public async Task DisposeAsync() => await Tpm.DisposeAsync();

    /// <summary>Our client; swtpm serves one connection at a time, so dispose it before running tpm2-tools.</summary>
    public TpmDevice Open() => TpmDevice.Open(Tpm.Tcti);
}

/// <summary>Our TPM client against swtpm, checked by tpm2-tools (which we did not write) and by our verifier.</summary>
public sealed class TpmClientTests(ClientTpmFixture fixture) : IClassFixture<ClientTpmFixture>
{
    private SoftwareTpm Tpm => fixture.Tpm;

    private string File(string name) => Path.Combine(Tpm.Directory, name);

    [Fact]
    public async Task Our_client_reads_the_same_ek_and_ek_certificate_as_tpm2_tools()
    {
        EndorsementKey ek;
        using (var device = fixture.Open())
        {
            ek = device.EndorsementKey();
        }
        Assert.False(ek.Transient);
        await Tpm.ToolAsync("tpm2_readpublic", "-c", "0x81010001", "-f", "tss", "-o", File("ek.pub"));
        await Tpm.ToolAsync("tpm2_nvread", "0x01c00002", "-C", "o", "-o", File("ek-cert.der"));
        Assert.Equal(await System.IO.File.ReadAllBytesAsync(File("ek.pub")), ek.Public);
        Assert.Equal(await System.IO.File.ReadAllBytesAsync(File("ek-cert.der")), ek.Certificate);
        using var certificate = EkChecks.LoadCertificate(ek.Certificate!);
        EkChecks.CheckCertificateKey(certificate, TpmPublic.ParseSized(ek.Public));
    }

    [Fact]
    public void The_ek_template_recreates_the_manufacturers_ek()
    {
        using var device = new TpmClient(TpmTransports.Open(Tpm.Tcti));
        var (handle, created) = device.CreatePrimary(TpmDevice.RsaEkTemplate());
        device.FlushContext(handle);
        Assert.Equal(device.ReadPublic(TpmDevice.RsaEkHandle)!.Value.Public, created);
    }

    [Fact]
    public async Task A_quote_from_our_client_verifies_with_tpm2_checkquote_and_with_our_verifier()
    {
        var nonce = RandomNumberGenerator.GetBytes(20);
        var selection = new List<PcrBank> { new(TpmAlg.Sha256, [0, 1, 2, 7]) };
        byte[] akPublic, attest, signature;
        IReadOnlyList<PcrValue> pcrs;
        EndorsementKey ek;
        using (var device = fixture.Open())
        {
            ek = device.EndorsementKey();
            akPublic = device.AttestationKey(ek);
            (attest, signature, pcrs) = device.Quote(nonce, selection);
        }
        await System.IO.File.WriteAllBytesAsync(File("q.ak.pub"), akPublic);
        await System.IO.File.WriteAllBytesAsync(File("q.attest"), attest);
        await System.IO.File.WriteAllBytesAsync(File("q.sig"), signature);
        await System.IO.File.WriteAllBytesAsync(File("q.pcrs"), pcrs.SelectMany(p => p.Digest).ToArray());
        await Tpm.ToolAsync("tpm2_checkquote", "-u", File("q.ak.pub"), "-m", File("q.attest"), "-s", File("q.sig"), "-f", File("q.pcrs"),
            "-F", "values", "-l", "sha256:0,1,2,7", "-g", "sha256", "-q", Convert.ToHexStringLower(nonce));
        var ak = TpmPublic.ParseSized(akPublic);
        AkChecks.Check(ak);
        var ekPublic = TpmPublic.ParseSized(ek.Public);
        var qualified = QuoteVerifier.QualifiedName(ak.NameAlg, QuoteVerifier.QualifiedName(ekPublic.NameAlg, QuoteVerifier.EndorsementHierarchy, ekPublic.Name()), ak.Name());
        QuoteVerifier.Verify(ak, attest, signature, nonce, pcrs, qualified);
        // and tpm2_checkquote refuses it with another nonce
        Assert.NotEqual(0, (await Tpm.TryToolAsync("tpm2_checkquote", "-u", File("q.ak.pub"), "-m", File("q.attest"), "-s", File("q.sig"),
            "-f", File("q.pcrs"), "-F", "values", "-l", "sha256:0,1,2,7", "-g", "sha256", "-q", Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(20)))).ExitCode);
    }

    [Fact]
    public void Our_client_activates_our_credential_and_the_tpm_refuses_one_for_another_ak()
    {
        using var device = fixture.Open();
        var ek = device.EndorsementKey();
        var ak = TpmPublic.ParseSized(device.AttestationKey(ek));
        var secret = RandomNumberGenerator.GetBytes(32);
        var made = CredentialMaker.Make(TpmPublic.ParseSized(ek.Public), ak.Name(), secret);
        Assert.Equal(secret, device.ActivateCredential(ek, made.IdObject, made.EncryptedSecret));

        var other = TpmPublic.ParseSized(Fixture.Bytes("ecc/ak.pub"));
        var forOther = CredentialMaker.Make(TpmPublic.ParseSized(ek.Public), other.Name(), secret);
        var error = Assert.Throws<TpmDeviceException>(() => device.ActivateCredential(ek, forOther.IdObject, forOther.EncryptedSecret));
        Assert.Contains("integrity check failed", error.Message);
        // the failed activation left nothing loaded behind: the next one works
        Assert.Equal(secret, device.ActivateCredential(ek, made.IdObject, made.EncryptedSecret));
    }

    [Fact]
    public void Pcr_reads_of_more_than_eight_pcrs_come_back_complete()
    {
        using var client = new TpmClient(TpmTransports.Open(Tpm.Tcti));
        var values = client.PcrRead([new PcrBank(TpmAlg.Sha1, [.. Enumerable.Range(0, 12)]), new PcrBank(TpmAlg.Sha256, [.. Enumerable.Range(0, 24)])]);
        Assert.Equal(36, values.Count);
        Assert.Equal(Enumerable.Range(0, 12).Concat(Enumerable.Range(0, 24)), values.Select(v => v.Index));
        Assert.All(values.Take(12), v => Assert.Equal(20, v.Digest.Length));
    }

    [Fact]
    public void A_missing_tpm_device_gets_a_clear_error() =>
        Assert.Contains("this machine has no TPM", Assert.Throws<TpmDeviceException>(() => TpmTransports.Open("device:/dev/no-such-tpm")).Message);

    [Fact]
    public void An_unreachable_software_tpm_gets_a_clear_error() =>
        Assert.Contains("cannot reach the software TPM at 127.0.0.1:", Assert.Throws<TpmDeviceException>(() => TpmTransports.Open($"swtpm:host=127.0.0.1,port={FreePort.Next()}")).Message);
}
