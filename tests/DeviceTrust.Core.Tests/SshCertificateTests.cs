using System.Security.Cryptography;
using CsCheck;
using DeviceTrust.Core.Certificates;
using DeviceTrust.Core.Errors;
using DeviceTrust.Core.Ssh;
using DeviceTrust.Testing;

namespace DeviceTrust.Core.Tests;

/// <summary>
/// Our OpenSSH certificates, checked against OpenSSH's own ssh-keygen (which verifies the CA signature when it reads
/// a certificate), and our parser, which sees certificates from the network, fed truncated, altered and random bytes.
/// </summary>
public sealed class SshCertificateTests : IDisposable
{
    private static readonly DateTimeOffset Now = DateTimeOffset.UtcNow;
    private readonly SshCertificateAuthority _ca = SshCertificateAuthority.Create();
    private readonly ECDsa _userKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private readonly TempDirectory _dir = new("dt-ssh");
    private static readonly UserIdentity Bob = new(Guid.Parse("6f1e0c3e-8a0b-4d7e-9a61-3c1f0c6b2a10"), 3);
    private static readonly DeviceExtensions Laptop = new("0d3f5b9e-1c2a-4b7d-8e6f-9a0b1c2d3e4f", "FVFX1234", "cred-1");

    public void Dispose()
    {
        _ca.Dispose();
        _userKey.Dispose();
        _dir.Dispose();
    }

    private SshCertificate UserCertificate(DeviceExtensions? device = null) =>
        _ca.Issue(SshIdentity.UserCertificate(SshPublicKey.FromEcdsa(_userKey), "bob", Bob, device, ["root", "bob", "root"], Now, Now.AddHours(8)));

    private async Task<string> KeygenListAsync(string line)
    {
        var path = _dir["cert.pub"];
        await File.WriteAllTextAsync(path, line + "\n");
        var result = await ProcessRunner.RunAsync("ssh-keygen", ["-L", "-f", path]);
        Assert.True(result.ExitCode == 0, result.ToString());
        return result.StdOut;
    }

    [Fact]
    public async Task User_certificate_is_read_and_verified_by_ssh_keygen()
    {
        var certificate = UserCertificate(Laptop);
        var listing = await KeygenListAsync(certificate.ToLine("bob"));
        Assert.Contains("Type: ecdsa-sha2-nistp256-cert-v01@openssh.com user certificate", listing);
        Assert.Contains($"Signing CA: ECDSA {_ca.PublicKey.Fingerprint} (using ecdsa-sha2-nistp256)", listing);
        Assert.Contains("Key ID: \"bob\"", listing);
        Assert.Matches(@"Principals: \n\s+bob\n\s+root\n", listing);
        Assert.Contains("permit-pty", listing);
        Assert.Contains("user-id@devicetrust", listing);
        Assert.Contains("device-id@devicetrust", listing);
        Assert.DoesNotContain("permit-X11-forwarding", listing);
    }

    [Fact]
    public async Task Ecdsa_key_in_pem_is_the_key_ssh_keygen_derives()
    {
        var path = _dir["key.pem"];
        SecureFileWrite(path, _userKey.ExportPkcs8PrivateKeyPem());
        var result = await ProcessRunner.RunAsync("ssh-keygen", ["-y", "-f", path]);
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(SshPublicKey.FromEcdsa(_userKey).ToLine(), result.StdOut.Trim());
    }

    [Theory]
    [InlineData("ed25519", "")]
    [InlineData("ecdsa", "256")]
    [InlineData("ecdsa", "521")]
    [InlineData("rsa", "3072")]
    public async Task Host_keys_from_ssh_keygen_get_host_certificates_it_accepts(string type, string bits)
    {
        var path = _dir[$"host_{type}{bits}"];
        var args = new List<string> { "-q", "-t", type, "-N", "", "-f", path };
        if (bits.Length > 0)
        {
            args.AddRange(["-b", bits]);
        }
        Assert.Equal(0, (await ProcessRunner.RunAsync("ssh-keygen", args)).ExitCode);
        var hostKey = SshPublicKey.ParseLine(await File.ReadAllTextAsync(path + ".pub"));
        var certificate = _ca.Issue(SshIdentity.HostCertificate(hostKey, "web-1", ["web-1.example.com", "127.0.0.1"], Now, Now.AddDays(30)));
        var listing = await KeygenListAsync(certificate.ToLine());
        Assert.Contains($"Type: {hostKey.Type}-cert-v01@openssh.com host certificate", listing);
        Assert.Matches(@"Principals: \n\s+web-1\n\s+web-1.example.com\n\s+127.0.0.1\n", listing);
        Assert.True(SshCertificate.Parse(certificate.Blob).Key.Equals(hostKey));
    }

    [Fact]
    public void Issued_certificate_parses_back_with_every_field()
    {
        var certificate = UserCertificate(Laptop);
        var parsed = SshCertificate.ParseLine(certificate.ToLine("bob"));
        Assert.True(parsed.IsSignedBy(_ca.PublicKey));
        Assert.Equal(SshCertificateType.User, parsed.Type);
        Assert.Equal(["bob", "root"], parsed.Principals);
        Assert.Equal(("bob", Bob), SshIdentity.ReadUser(parsed));
        Assert.Equal(Laptop, SshIdentity.ReadDevice(parsed));
        Assert.True(parsed.IsValidAt(Now));
        Assert.False(parsed.IsValidAt(Now.AddHours(9)));
        Assert.True(parsed.IsValidAt(Now.AddMinutes(-4)));
        Assert.NotEqual(0UL, parsed.Serial);
        Assert.Equal(parsed.Fingerprint, certificate.Fingerprint);
    }

    [Fact]
    public void An_issued_certificate_is_what_parsing_its_bytes_reads()
    {
        var issued = UserCertificate(Laptop);
        var parsed = SshCertificate.Parse(issued.Blob);
        Assert.Equal(parsed.Key, issued.Key);
        Assert.Equal(parsed.Nonce, issued.Nonce);
        Assert.Equal(parsed.Serial, issued.Serial);
        Assert.Equal(parsed.Type, issued.Type);
        Assert.Equal(parsed.KeyId, issued.KeyId);
        Assert.Equal(parsed.Principals, issued.Principals);
        Assert.Equal(parsed.ValidAfter, issued.ValidAfter);
        Assert.Equal(parsed.ValidBefore, issued.ValidBefore);
        Assert.Equal(parsed.CriticalOptions, issued.CriticalOptions);
        Assert.Equal(parsed.Extensions, issued.Extensions);
        Assert.Equal(parsed.SignatureKey, issued.SignatureKey);
        Assert.Equal(parsed.Signature, issued.Signature);
        Assert.Equal(parsed.SignedLength, issued.SignedLength);
        Assert.True(issued.IsSignedBy(_ca.PublicKey));
    }

    [Fact]
    public void An_extension_named_twice_is_refused()
    {
        var request = SshIdentity.UserCertificate(SshPublicKey.FromEcdsa(_userKey), "bob", Bob, null, ["bob"], Now, Now.AddHours(8));
        var twice = request with { Extensions = [.. request.Extensions, request.Extensions[0]] };
        var refused = Assert.Throws<DeviceTrustException>(() => _ca.Issue(twice));
        Assert.Equal(ErrorKind.InvalidArgument, refused.Kind);
        Assert.Equal("an SSH certificate names each extension once", refused.Message);
    }

    [Fact]
    public void The_key_of_an_issued_x509_certificate_is_the_same_ssh_key_and_only_p256_is_taken()
    {
        var spki = CertificateAuthority.ParseUserPublicKey(_userKey.ExportSubjectPublicKeyInfo());
        Assert.Equal(SshPublicKey.FromEcdsa(_userKey), SshPublicKey.FromIssuedP256(spki));
        Assert.Equal(SshPublicKey.FromEcdsa(_userKey).Fields.ToArray(), SshPublicKey.FromIssuedP256(spki).Fields.ToArray());
        using var p384 = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        var other = System.Security.Cryptography.X509Certificates.PublicKey.CreateFromSubjectPublicKeyInfo(p384.ExportSubjectPublicKeyInfo(), out _);
        var refused = Assert.Throws<SshFormatException>(() => SshPublicKey.FromIssuedP256(other));
        Assert.Equal("the certificate's key is not an uncompressed EC P-256 point", refused.Message);
    }

    [Fact]
    public void Certificate_without_device_names_no_device()
    {
        var parsed = SshCertificate.Parse(UserCertificate().Blob);
        Assert.Null(SshIdentity.ReadDevice(parsed));
        Assert.NotNull(SshIdentity.ReadUser(parsed));
    }

    [Fact]
    public void Another_ca_did_not_sign_it()
    {
        using var other = SshCertificateAuthority.Create();
        Assert.False(SshCertificate.Parse(UserCertificate().Blob).IsSignedBy(other.PublicKey));
    }

    [Fact]
    public void A_host_certificate_names_no_user()
    {
        var host = _ca.Issue(SshIdentity.HostCertificate(SshPublicKey.FromEcdsa(_userKey), "web-1", [], Now, Now.AddDays(1)));
        Assert.Null(SshIdentity.ReadUser(SshCertificate.Parse(host.Blob)));
    }

    [Fact]
    public void Every_altered_signed_byte_breaks_the_signature_or_the_shape()
    {
        var blob = UserCertificate(Laptop).Blob.ToArray();
        for (var i = 0; i < blob.Length; i++)
        {
            var altered = (byte[])blob.Clone();
            altered[i] ^= 0x01;
            try
            {
                Assert.False(SshCertificate.Parse(altered).IsSignedBy(_ca.PublicKey), $"byte {i} changed and the signature still held");
            }
            catch (SshFormatException)
            {
                // refused as malformed: as good as a bad signature
            }
        }
    }

    [Fact]
    public void Every_truncation_is_malformed()
    {
        var blob = UserCertificate(Laptop).Blob.ToArray();
        for (var length = 0; length < blob.Length; length++)
        {
            Assert.Throws<SshFormatException>(() => SshCertificate.Parse(blob.AsSpan(0, length)));
        }
    }

    [Fact]
    public void Random_and_spliced_bytes_are_malformed_or_unsigned()
    {
        var blob = UserCertificate(Laptop).Blob.ToArray();
        var spliced = Gen.Select(Gen.Int[0, blob.Length - 1], Gen.Byte.Array[0, 64], (at, insert) => (byte[])[.. blob[..at], .. insert, .. blob[at..]]);
        Gen.OneOf(Gen.Byte.Array[0, 700], spliced).Sample(bytes =>
        {
            try
            {
                var parsed = SshCertificate.Parse(bytes);
                Assert.False(parsed.IsSignedBy(_ca.PublicKey) && !bytes.AsSpan().SequenceEqual(blob));
            }
            catch (SshFormatException)
            {
            }
        }, iter: 2000);
    }

    [Fact]
    public void Public_keys_of_unknown_types_or_bad_points_are_refused()
    {
        var good = SshPublicKey.FromEcdsa(_userKey).Blob.ToArray();
        var offCurve = (byte[])good.Clone();
        offCurve[^1] ^= 0x01;
        Assert.Equal("the ECDSA point is not on the curve of ecdsa-sha2-nistp256",
            Assert.Throws<SshFormatException>(() => SshPublicKey.FromBlob(offCurve)).Message);
        var dsa = new SshWriter().Text("ssh-dss").Bytes(new byte[20]).ToArray();
        Assert.Equal("key type ssh-dss is not supported: use Ed25519, ECDSA or RSA", Assert.Throws<SshFormatException>(() => SshPublicKey.FromBlob(dsa)).Message);
        var shortRsa = new SshWriter().Text("ssh-rsa").Mpint([1, 0, 1]).Mpint(RandomNumberGenerator.GetBytes(128)).ToArray();
        Assert.Equal("an RSA key must have 2048 to 8192 bits", Assert.Throws<SshFormatException>(() => SshPublicKey.FromBlob(shortRsa)).Message);
        Assert.Equal("the public key has 1 bytes after its end", Assert.Throws<SshFormatException>(() => SshPublicKey.FromBlob([.. good, 0])).Message);
    }

    [Fact]
    public void Mpint_in_a_longer_form_than_needed_is_refused()
    {
        var blob = new SshWriter().U32(2).Raw([0, 1]).ToArray();
        Assert.Equal("n has a needless leading zero", Assert.Throws<SshFormatException>(() => new SshReader(blob).Mpint("n", 8).ToArray()).Message);
        Assert.Equal([0x00, 0x80], new SshWriter().Mpint([0, 0, 0x80]).Written[4..].ToArray());
        Assert.Equal([0, 0, 0, 0], new SshWriter().Mpint([0, 0]).ToArray());
    }

    private static void SecureFileWrite(string path, string text) => Core.Secrets.SecureFile.WriteAllText(path, text);
}
