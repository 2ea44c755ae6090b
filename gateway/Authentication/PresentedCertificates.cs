using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace DeviceTrust.Gateway.Authentication;

/// <summary>
/// Certificates that callers present as data (a proxy forwarding its client's, an integration asking CheckAccess),
/// parsed once per distinct bytes: they arrive the same few over and over, and parsing one (OpenSSL decodes it,
/// public key and all) then reading its subject and extensions and checking its chain cost many times the
/// decision. Kept by the SHA-256 of the bytes as presented, for a few minutes, at most <see cref="MaxEntries"/>; the
/// per-object caches (<see cref="ClientCertificateValidator"/>, <see cref="CertificateUsers"/>) then answer for the
/// same object. Only the parse is cached: validity, the chain (with its own expiry) and the live user are checked
/// on every use. Bytes that do not parse are not kept.
/// </summary>
public sealed class PresentedCertificates(TimeProvider time)
{
    private static readonly TimeSpan Ttl = TimeSpan.FromMinutes(5);
    internal const int MaxEntries = 50_000;

    private readonly ConcurrentDictionary<string, (X509Certificate2 Certificate, DateTimeOffset Until)> _parsed = new(StringComparer.Ordinal);

    /// <summary>The certificate <paramref name="presented"/> stands for, parsed by <paramref name="parse"/> the first time it is seen (which may throw).</summary>
    public X509Certificate2 Get(ReadOnlySpan<byte> presented, Func<X509Certificate2> parse)
    {
        var now = time.GetUtcNow();
        var key = Convert.ToHexString(SHA256.HashData(presented));
        if (_parsed.TryGetValue(key, out var kept) && now < kept.Until)
        {
            return kept.Certificate;
        }
        var certificate = parse();
        if (_parsed.Count >= MaxEntries)
        {
            // Dropped, not disposed: a caller may be using one; the finalizer frees them.
            _parsed.Clear();
        }
        _parsed[key] = (certificate, now + Ttl);
        return certificate;
    }
}
