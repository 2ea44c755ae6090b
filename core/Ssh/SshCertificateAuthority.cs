using System.Buffers.Binary;
using System.Security.Cryptography;
using DeviceTrust.Core.Errors;

namespace DeviceTrust.Core.Ssh;

/// <summary>What a certificate is to say; the authority adds the nonce, the serial and its signature.</summary>
public sealed record SshCertificateRequest(
    SshPublicKey Key,
    SshCertificateType Type,
    string KeyId,
    IReadOnlyList<string> Principals,
    DateTimeOffset ValidAfter,
    DateTimeOffset ValidBefore,
    IReadOnlyList<KeyValuePair<string, string?>> Extensions);

/// <summary>
/// An SSH certificate authority: an ECDSA P-256 key (.NET has no Ed25519, and sshd accepts ECDSA CAs for every key
/// type), signing with SHA-256 as <c>ecdsa-sha2-nistp256</c>. The cluster has two, one for user certificates and one
/// for host certificates, so a host certificate can never pass as a user's.
/// </summary>
public sealed class SshCertificateAuthority : IDisposable
{
    private readonly ECDsa _key;

    private SshCertificateAuthority(ECDsa key)
    {
        _key = key;
        PublicKey = SshPublicKey.FromEcdsa(key);
    }

    public SshPublicKey PublicKey { get; }

    public static SshCertificateAuthority Create() => new(ECDsa.Create(ECCurve.NamedCurves.nistP256));

    public static SshCertificateAuthority Load(ReadOnlySpan<byte> pkcs8PrivateKey)
    {
        var key = ECDsa.Create();
        key.ImportPkcs8PrivateKey(pkcs8PrivateKey, out _);
        if (key.ExportParameters(false).Curve.Oid?.Value != "1.2.840.10045.3.1.7")
        {
            key.Dispose();
            throw DeviceTrustException.FailedPrecondition("the stored SSH CA key is not a P-256 key");
        }
        return new SshCertificateAuthority(key);
    }

    public byte[] ExportPrivateKeyPkcs8() => _key.ExportPkcs8PrivateKey();

    public SshCertificate Issue(SshCertificateRequest request)
    {
        if (request.Principals.Count is 0 or > SshCertificate.MaxPrincipals)
        {
            throw DeviceTrustException.InvalidArgument($"an SSH certificate needs 1 to {SshCertificate.MaxPrincipals} principals");
        }
        if (request.ValidBefore <= request.ValidAfter)
        {
            throw DeviceTrustException.InvalidArgument("an SSH certificate must end after it starts");
        }
        if (request.Extensions.Select(e => e.Key).Distinct(StringComparer.Ordinal).Count() != request.Extensions.Count)
        {
            throw DeviceTrustException.InvalidArgument("an SSH certificate names each extension once");
        }
        var nonce = RandomNumberGenerator.GetBytes(32);
        var serial = RandomSerial();
        var (validAfter, validBefore) = (Seconds(request.ValidAfter), Seconds(request.ValidBefore));
        var toBeSigned = SshCertificate.ToBeSigned(request.Key, nonce, serial, request.Type, request.KeyId, request.Principals,
            validAfter, validBefore, [], request.Extensions, PublicKey);
        Span<byte> rs = stackalloc byte[64];
        if (_key.SignData(toBeSigned, rs, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation) != 64)
        {
            throw new CryptographicException("an ECDSA P-256 signature is 64 bytes");
        }
        var inner = new SshWriter().Mpint(rs[..32]).Mpint(rs[32..]);
        var signature = new SshWriter().Text(SshPublicKey.EcdsaP256).Bytes(inner.Written).ToArray();
        return SshCertificate.Signed(request, nonce, serial, validAfter, validBefore, [.. request.Principals], PublicKey, toBeSigned, signature);
    }

    private static ulong Seconds(DateTimeOffset time) =>
        time == DateTimeOffset.MaxValue ? SshCertificate.Forever : (ulong)Math.Max(0, time.ToUnixTimeSeconds());

    private static ulong RandomSerial()
    {
        Span<byte> bytes = stackalloc byte[8];
        ulong serial;
        do
        {
            RandomNumberGenerator.Fill(bytes);
            serial = BinaryPrimitives.ReadUInt64BigEndian(bytes);
        }
        while (serial == 0);
        return serial;
    }

    public void Dispose() => _key.Dispose();
}
