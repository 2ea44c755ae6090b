using System.Security.Cryptography;
using DeviceTrust.Testing;
using DeviceTrust.Tpm.Codec;
using DeviceTrust.Tpm.Verification;

namespace DeviceTrust.Tpm.Tests;

/// <summary>
/// RSASSA-PSS with every salt length a TPM may use, signed by OpenSSL (which, unlike .NET, signs with the largest
/// salt when asked) and by .NET, verified by ours.
/// </summary>
public sealed class RsaPssTests : IDisposable
{
    private readonly TempDirectory _directory = new("dt-pss");

    public void Dispose() => _directory.Dispose();

    [Theory]
    [InlineData("max", "sha256", 2048)]
    [InlineData("digest", "sha256", 2048)]
    [InlineData("0", "sha256", 2048)]
    [InlineData("max", "sha384", 3072)]
    [InlineData("max", "sha256", 2047)] // a modulus whose bit length is not a multiple of 8
    public async Task Signatures_with_any_salt_length_verify_and_altered_ones_do_not(string salt, string digest, int bits)
    {
        var key = _directory["key.pem"];
        var message = _directory["message"];
        var signature = _directory["signature"];
        await Run("openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", $"rsa_keygen_bits:{bits}", "-out", key);
        var data = RandomNumberGenerator.GetBytes(200);
        await File.WriteAllBytesAsync(message, data);
        await Run("openssl", "dgst", "-" + digest, "-sign", key, "-sigopt", "rsa_padding_mode:pss", "-sigopt", $"rsa_pss_saltlen:{salt}", "-out", signature, message);
        using var rsa = RSA.Create();
        rsa.ImportFromPem(await File.ReadAllTextAsync(key));
        var parameters = rsa.ExportParameters(false);
        var modulus = parameters.Modulus!;
        var exponent = (uint)new System.Numerics.BigInteger(parameters.Exponent, isUnsigned: true, isBigEndian: true);
        var hash = digest == "sha256" ? TpmAlg.Sha256 : TpmAlg.Sha384;
        var signed = await File.ReadAllBytesAsync(signature);
        Assert.True(RsaPss.Verify(modulus, exponent, hash, data, signed));

        Assert.False(RsaPss.Verify(modulus, exponent, hash, [.. data, 0], signed));
        var altered = signed.ToArray();
        altered[^5] ^= 0x10;
        Assert.False(RsaPss.Verify(modulus, exponent, hash, data, altered));
        Assert.False(RsaPss.Verify(modulus, exponent, hash == TpmAlg.Sha256 ? TpmAlg.Sha384 : TpmAlg.Sha256, data, signed));
        Assert.False(RsaPss.Verify(modulus, exponent, hash, data, signed.AsSpan(1)));
        Assert.False(RsaPss.Verify(modulus, exponent, hash, data, new byte[signed.Length]));
        Assert.False(RsaPss.Verify(modulus, exponent, hash, data, [.. Enumerable.Repeat((byte)0xFF, signed.Length)]));
    }

    [Fact]
    public void Signatures_made_by_dotnet_verify()
    {
        using var rsa = RSA.Create(2048);
        var data = RandomNumberGenerator.GetBytes(64);
        var parameters = rsa.ExportParameters(false);
        var signature = rsa.SignData(data, HashAlgorithmName.SHA256, RSASignaturePadding.Pss);
        Assert.True(RsaPss.Verify(parameters.Modulus!, 65537, TpmAlg.Sha256, data, signature));
        Assert.False(RsaPss.Verify(parameters.Modulus!, 65537, TpmAlg.Sha256, data, rsa.SignData(data, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1)));
    }

    private static async Task Run(string tool, params string[] arguments)
    {
        var result = await ProcessRunner.RunAsync(tool, arguments);
        Assert.True(result.ExitCode == 0, result.ToString());
    }
}
