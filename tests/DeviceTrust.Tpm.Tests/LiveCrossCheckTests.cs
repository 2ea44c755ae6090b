using System.Globalization;
using System.Security.Cryptography;
using DeviceTrust.Testing;
using DeviceTrust.Tpm.Codec;
using DeviceTrust.Tpm.Credentials;
using DeviceTrust.Tpm.Structures;
using DeviceTrust.Tpm.Verification;

namespace DeviceTrust.Tpm.Tests;

/// <summary>One software TPM with an RSA EK + RSASSA AK and a P-256 EK + ECDSA AK, for the live cross-checks.</summary>
public sealed class LiveTpmFixture : IAsyncLifetime
{
    public const string RsaEk = "0x81010001";
    public const string RsaAk = "0x81000101";
    public const string EccEk = "0x81010002";
    public const string EccAk = "0x81000103";

    public SoftwareTpm Tpm { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Tpm = await SoftwareTpm.StartAsync();
        await Tpm.ShellAsync(
            """
            st_tool "$D" "$P" tpm2_createek -G ecc -c "$D/ek.ctx" -u "$D/ek-ecc.pub" -f tss >/dev/null &&
            st_tool "$D" "$P" tpm2_evictcontrol -C o -c "$D/ek.ctx" 0x81010002 >/dev/null &&
            st_ak "$D" "$P" 0x81010001 0x81000101 rsa rsassa &&
            st_ak "$D" "$P" 0x81010002 0x81000103 ecc ecdsa &&
            printf boot > "$D/event" && st_tool "$D" "$P" tpm2_pcrevent 7 "$D/event" >/dev/null
            """);
    }

    public async Task<TpmPublic> PublicAsync(string handle)
    {
        var file = Path.Combine(Tpm.Directory, $"pub-{handle}");
        await Tpm.ToolAsync("tpm2_readpublic", "-c", handle, "-f", "tss", "-o", file);
        return TpmPublic.ParseSized(await File.ReadAllBytesAsync(file));
    }

    public async Task DisposeAsync() => await Tpm.DisposeAsync();
}

/// <summary>Our verifier and our MakeCredential against a real (software) TPM and tools we did not write.</summary>
public sealed class LiveCrossCheckTests(LiveTpmFixture fixture) : IClassFixture<LiveTpmFixture>
{
    private SoftwareTpm Tpm => fixture.Tpm;

    private async Task<(int ExitCode, byte[] Recovered)> ActivateAsync(string ek, string ak, MadeCredential credential)
    {
        var id = Guid.NewGuid().ToString("N");
        var idObject = Path.Combine(Tpm.Directory, $"{id}.idobject");
        var encSecret = Path.Combine(Tpm.Directory, $"{id}.encsecret");
        var output = Path.Combine(Tpm.Directory, $"{id}.out");
        await File.WriteAllBytesAsync(idObject, credential.IdObject);
        await File.WriteAllBytesAsync(encSecret, credential.EncryptedSecret);
        var result = await Tpm.TryShellAsync("st_activate \"$D\" \"$P\" \"$1\" \"$2\" \"$3\" \"$4\" \"$5\"", ek, ak, idObject, encSecret, output);
        return (result.ExitCode, result.ExitCode == 0 ? await File.ReadAllBytesAsync(output) : []);
    }

    [Theory]
    [InlineData(LiveTpmFixture.RsaEk, LiveTpmFixture.RsaAk)]
    [InlineData(LiveTpmFixture.EccEk, LiveTpmFixture.EccAk)]
    public async Task Our_make_credential_is_activated_by_tpm2_activatecredential(string ekHandle, string akHandle)
    {
        var ek = await fixture.PublicAsync(ekHandle);
        var ak = await fixture.PublicAsync(akHandle);
        var secret = RandomNumberGenerator.GetBytes(32);
        var (exitCode, recovered) = await ActivateAsync(ekHandle, akHandle, CredentialMaker.Make(ek, ak.Name(), secret));
        Assert.Equal(0, exitCode);
        Assert.Equal(secret, recovered);
    }

    [Theory]
    [InlineData(LiveTpmFixture.RsaEk, LiveTpmFixture.RsaAk, LiveTpmFixture.EccAk)]
    [InlineData(LiveTpmFixture.EccEk, LiveTpmFixture.EccAk, LiveTpmFixture.RsaAk)]
    public async Task A_credential_bound_to_another_aks_name_is_refused_by_the_tpm(string ekHandle, string akHandle, string otherAk)
    {
        var ek = await fixture.PublicAsync(ekHandle);
        var other = await fixture.PublicAsync(otherAk);
        var (exitCode, _) = await ActivateAsync(ekHandle, akHandle, CredentialMaker.Make(ek, other.Name(), RandomNumberGenerator.GetBytes(32)));
        Assert.NotEqual(0, exitCode);
    }

    [Theory]
    [InlineData(LiveTpmFixture.RsaAk, "rsassa")]
    [InlineData(LiveTpmFixture.EccAk, "ecdsa")]
    public async Task Fresh_quotes_from_tpm2_quote_verify_with_our_verifier(string akHandle, string scheme)
    {
        var ak = await fixture.PublicAsync(akHandle);
        var nonce = RandomNumberGenerator.GetBytes(20);
        var id = Guid.NewGuid().ToString("N");
        var attest = Path.Combine(Tpm.Directory, $"{id}.attest");
        var sig = Path.Combine(Tpm.Directory, $"{id}.sig");
        await Tpm.ToolAsync("tpm2_quote", "-c", akHandle, "-l", "sha256:0,1,2,7+sha1:7", "-q", Convert.ToHexStringLower(nonce), "-g", "sha256",
            "--scheme", scheme, "-m", attest, "-s", sig);
        var pcrs = new List<PcrValue>();
        foreach (var (bank, hash, index) in new[] { ("sha256", TpmAlg.Sha256, 0), ("sha256", TpmAlg.Sha256, 1), ("sha256", TpmAlg.Sha256, 2), ("sha256", TpmAlg.Sha256, 7), ("sha1", TpmAlg.Sha1, 7) })
        {
            var value = Path.Combine(Tpm.Directory, $"{id}.pcr");
            await Tpm.ToolAsync("tpm2_pcrread", $"{bank}:{index.ToString(CultureInfo.InvariantCulture)}", "-o", value);
            pcrs.Add(new PcrValue(hash, index, await File.ReadAllBytesAsync(value)));
        }
        var attestBytes = await File.ReadAllBytesAsync(attest);
        var sigBytes = await File.ReadAllBytesAsync(sig);
        var quote = QuoteVerifier.Verify(ak, attestBytes, sigBytes, nonce, pcrs);
        Assert.Equal(2, quote.PcrSelect.Count);
        Assert.Throws<TpmVerificationException>(() =>
            QuoteVerifier.Verify(ak, attestBytes, sigBytes, RandomNumberGenerator.GetBytes(20), pcrs));
    }
}
