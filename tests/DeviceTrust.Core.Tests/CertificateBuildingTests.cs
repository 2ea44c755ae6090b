using System.Formats.Asn1;
using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using DeviceTrust.Core.Certificates;
using DeviceTrust.Core.Errors;

namespace DeviceTrust.Core.Tests;

public sealed class CertificateBuildingTests : IDisposable
{
    private static readonly DateTimeOffset Now = new(2026, 11, 24, 12, 0, 0, TimeSpan.Zero);
    private readonly CertificateAuthority _ca = CertificateAuthority.Create("test user CA", Now - TimeSpan.FromDays(1), TimeSpan.FromDays(365));
    private readonly ECDsa _userKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private static readonly UserIdentity TestIdentity = new(Guid.Parse("0e9d7f4c-6a43-4c1e-9d0b-1f2a3b4c5d6e"), 3);

    public void Dispose()
    {
        _ca.Dispose();
        _userKey.Dispose();
    }

    private X509Certificate2 IssueFor(string user, TimeSpan ttl) =>
        _ca.IssueUserCertificate(CertificateAuthority.ParseUserPublicKey(_userKey.ExportSubjectPublicKeyInfo()), user, TestIdentity, Now, Now + ttl).Load();

    [Fact]
    public void The_ca_is_a_p256_ca_that_may_only_sign_certificates()
    {
        var constraints = _ca.Certificate.Extensions.OfType<X509BasicConstraintsExtension>().Single();
        Assert.True(constraints.CertificateAuthority);
        Assert.True(constraints.Critical);
        var usage = _ca.Certificate.Extensions.OfType<X509KeyUsageExtension>().Single();
        Assert.Equal(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, usage.KeyUsages);
        Assert.Equal("1.2.840.10045.3.1.7", _ca.Certificate.GetECDsaPublicKey()!.ExportParameters(false).Curve.Oid.Value);
    }

    /// <summary>
    /// The CA assembles its certificates itself; the framework's <see cref="CertificateRequest"/>, given the same
    /// request, serial and validity, must produce the same to-be-signed bytes, and the signature must verify. 2049 and
    /// 2050 cover both time encodings (UTCTime, then GeneralizedTime); sub-second times are cut to whole seconds.
    /// </summary>
    [Theory]
    [InlineData("2026-11-24T12:00:00.250Z", 12)]
    [InlineData("2049-12-31T20:00:00Z", 12)]
    public void An_issued_certificate_is_the_one_the_framework_would_make(string now, int hours)
    {
        var at = DateTimeOffset.Parse(now, CultureInfo.InvariantCulture);
        using var ca = CertificateAuthority.Create("test user CA", at - TimeSpan.FromDays(1), TimeSpan.FromDays(365));
        var device = new DeviceExtensions("3f2c7a4e-1111-2222-3333-444455556666", "C00AA0AAAA0A", "cred-1");
        var issued = ca.IssueUserCertificate(CertificateAuthority.ParseUserPublicKey(_userKey.ExportSubjectPublicKeyInfo()), "alice", TestIdentity,
            at, at + TimeSpan.FromHours(hours), device.ToX509());
        using var ours = issued.Load();
        Assert.Equal(new DateTimeOffset(ours.NotBefore.ToUniversalTime(), TimeSpan.Zero), issued.NotBefore);
        Assert.Equal(new DateTimeOffset(ours.NotAfter.ToUniversalTime(), TimeSpan.Zero), issued.NotAfter);
        Assert.Equal(0, issued.NotAfter.Millisecond);

        var request = new CertificateRequest(ours.SubjectName, ours.PublicKey, HashAlgorithmName.SHA256);
        foreach (var extension in ours.Extensions)
        {
            request.CertificateExtensions.Add(extension);
        }
        using var caKey = ECDsa.Create();
        caKey.ImportPkcs8PrivateKey(ca.ExportPrivateKeyPkcs8(), out _);
        using var framework = request.Create(ca.Certificate.SubjectName, X509SignatureGenerator.CreateForECDsa(caKey), issued.NotBefore, issued.NotAfter,
            ours.SerialNumberBytes.Span);
        var (toBeSigned, algorithm, signature) = Parts(issued.Der);
        var (frameworkToBeSigned, frameworkAlgorithm, _) = Parts(framework.RawData);
        Assert.Equal(frameworkToBeSigned, toBeSigned);
        Assert.Equal(frameworkAlgorithm, algorithm);
        using var caPublic = ca.Certificate.GetECDsaPublicKey()!;
        Assert.True(caPublic.VerifyData(toBeSigned, signature, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence));
        Assert.Equal(16, ours.SerialNumberBytes.Length);
    }

    private static (byte[] ToBeSigned, byte[] Algorithm, byte[] Signature) Parts(byte[] der)
    {
        var certificate = new AsnReader(der, AsnEncodingRules.DER).ReadSequence();
        var toBeSigned = certificate.ReadEncodedValue().ToArray();
        var algorithm = certificate.ReadEncodedValue().ToArray();
        var signature = certificate.ReadBitString(out _);
        Assert.False(certificate.HasData);
        return (toBeSigned, algorithm, signature);
    }

    [Fact]
    public void A_user_certificate_names_the_user_and_is_only_for_client_authentication()
    {
        using var certificate = IssueFor("alice", TimeSpan.FromHours(12));
        Assert.Equal("alice", CertificateAuthority.UserOf(certificate));
        Assert.False(certificate.Extensions.OfType<X509BasicConstraintsExtension>().Single().CertificateAuthority);
        Assert.Equal(X509KeyUsageFlags.DigitalSignature, certificate.Extensions.OfType<X509KeyUsageExtension>().Single().KeyUsages);
        var eku = certificate.Extensions.OfType<X509EnhancedKeyUsageExtension>().Single().EnhancedKeyUsages.Cast<Oid>().Select(o => o.Value);
        Assert.Equal([CertificateAuthority.ClientAuthOid], eku);
    }

    [Fact]
    public void A_user_certificate_carries_the_clients_key_and_no_private_key()
    {
        using var certificate = IssueFor("alice", TimeSpan.FromHours(1));
        Assert.False(certificate.HasPrivateKey);
        Assert.Equal(_userKey.ExportSubjectPublicKeyInfo(), certificate.GetECDsaPublicKey()!.ExportSubjectPublicKeyInfo());
    }

    [Fact]
    public void Validity_starts_a_little_early_for_clock_skew_and_ends_after_the_ttl()
    {
        using var certificate = IssueFor("alice", TimeSpan.FromHours(12));
        Assert.Equal((Now - CertificateAuthority.ClockSkewAllowance).UtcDateTime, certificate.NotBefore.ToUniversalTime());
        Assert.Equal((Now + TimeSpan.FromHours(12)).UtcDateTime, certificate.NotAfter.ToUniversalTime());
    }

    [Fact]
    public void Validity_is_clamped_to_the_cas_own()
    {
        using var certificate = IssueFor("alice", TimeSpan.FromDays(5000));
        Assert.Equal(_ca.Certificate.NotAfter, certificate.NotAfter);
    }

    [Fact]
    public void Issued_certificates_validate_against_the_ca()
    {
        using var certificate = IssueFor("alice", TimeSpan.FromHours(1));
        Assert.Null(_ca.ValidateClientCertificate(certificate, Now));
    }

    [Fact]
    public void An_expired_certificate_does_not_validate()
    {
        using var certificate = IssueFor("alice", TimeSpan.FromHours(1));
        Assert.Contains("NotTimeValid", _ca.ValidateClientCertificate(certificate, Now + TimeSpan.FromHours(2)));
    }

    [Fact]
    public void A_certificate_from_another_ca_with_the_same_names_does_not_validate()
    {
        using var other = CertificateAuthority.Create("test user CA", Now - TimeSpan.FromDays(1), TimeSpan.FromDays(365));
        using var foreign = other.IssueUserCertificate(CertificateAuthority.ParseUserPublicKey(_userKey.ExportSubjectPublicKeyInfo()), "alice", TestIdentity, Now, Now + TimeSpan.FromHours(1)).Load();
        Assert.NotNull(_ca.ValidateClientCertificate(foreign, Now));
    }

    [Fact]
    public void A_server_certificate_is_not_accepted_as_a_client_certificate()
    {
        using var server = _ca.IssueServerCertificate(["localhost"], [], Now, TimeSpan.FromDays(1));
        Assert.NotNull(_ca.ValidateClientCertificate(server, Now));
    }

    [Fact]
    public void The_server_certificate_has_its_key_and_names()
    {
        using var server = _ca.IssueServerCertificate(["localhost", "dt.example"], [System.Net.IPAddress.Loopback], Now, TimeSpan.FromDays(1));
        Assert.True(server.HasPrivateKey);
        Assert.True(server.MatchesHostname("dt.example"));
        Assert.True(server.MatchesHostname("127.0.0.1"));
    }

    [Fact]
    public void Only_p256_public_keys_are_accepted()
    {
        using var p384 = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        Assert.Contains("P-256", Assert.Throws<DeviceTrustException>(() => CertificateAuthority.ParseUserPublicKey(p384.ExportSubjectPublicKeyInfo())).Message);
        using var rsa = RSA.Create(2048);
        Assert.Throws<DeviceTrustException>(() => CertificateAuthority.ParseUserPublicKey(rsa.ExportSubjectPublicKeyInfo()));
        Assert.Throws<DeviceTrustException>(() => CertificateAuthority.ParseUserPublicKey([0x30, 0x03, 0x01, 0x01, 0x00]));
    }

    [Fact]
    public void Trailing_bytes_after_the_public_key_are_refused()
    {
        var spki = _userKey.ExportSubjectPublicKeyInfo().Append((byte)0).ToArray();
        Assert.Contains("trailing", Assert.Throws<DeviceTrustException>(() => CertificateAuthority.ParseUserPublicKey(spki)).Message);
    }

    [Fact]
    public void A_ca_reloads_from_its_certificate_and_key_and_refuses_a_foreign_key()
    {
        using var reloaded = CertificateAuthority.Load(_ca.Certificate.RawData, _ca.ExportPrivateKeyPkcs8());
        Assert.Equal(_ca.Pin, reloaded.Pin);
        using var other = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        Assert.Throws<DeviceTrustException>(() => CertificateAuthority.Load(_ca.Certificate.RawData, other.ExportPkcs8PrivateKey()));
    }

    [Fact]
    public void Device_extensions_round_trip_and_are_complete_only_with_all_three()
    {
        var device = new DeviceExtensions("3f2c7a4e-1111-2222-3333-444455556666", "C00AA0AAAA0A", "cred-1");
        using var certificate = _ca.IssueUserCertificate(CertificateAuthority.ParseUserPublicKey(_userKey.ExportSubjectPublicKeyInfo()), "alice", TestIdentity,
            Now, Now + TimeSpan.FromHours(1), device.ToX509()).Load();
        Assert.Equal(device, DeviceExtensions.Read(certificate));
        Assert.True(DeviceExtensions.AnyPresent(certificate));
        using var partial = _ca.IssueUserCertificate(CertificateAuthority.ParseUserPublicKey(_userKey.ExportSubjectPublicKeyInfo()), "alice", TestIdentity,
            Now, Now + TimeSpan.FromHours(1), device.ToX509().Take(2)).Load();
        Assert.Null(DeviceExtensions.Read(partial));
    }

    [Fact]
    public void The_pin_is_the_sha256_of_the_subject_public_key_info()
    {
        var expected = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(_ca.Certificate.PublicKey.ExportSubjectPublicKeyInfo()));
        Assert.Equal(expected, _ca.Pin);
        Assert.True(CaPin.Matches(_ca.Certificate, expected.ToUpperInvariant().Replace("SHA256:", "sha256:", StringComparison.Ordinal)));
        Assert.Throws<DeviceTrustException>(() => CaPin.Parse("sha256:abc"));
    }

    [Fact]
    public void A_user_certificate_carries_the_users_id_and_generation()
    {
        using var certificate = IssueFor("alice", TimeSpan.FromHours(1));
        Assert.Equal(TestIdentity, UserIdentity.Read(certificate));
        Assert.Empty(DeviceExtensions.ListOurs(certificate));
    }
}
