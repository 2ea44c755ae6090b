using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using DeviceTrust.Core.Audit;
using DeviceTrust.Core.Certificates;
using DeviceTrust.Gateway.Audit;
using DeviceTrust.Gateway.Hosting;
using Grpc.Core;

namespace DeviceTrust.Gateway.Authentication;

/// <summary>
/// Kestrel's client-certificate callback: the certificate must chain to a cluster CA (the signing one, or the other one
/// of a rotation in progress; never the OS trust store),
/// be within its validity and be a client certificate. Results are cached by SHA-256 thumbprint until the earlier
/// of the certificate's expiry and a short TTL, since a chain build costs ~165 µs and handshakes repeat it.
/// A rejected certificate closes the whole connection, so the reason is logged here: the client cannot see it.
/// </summary>
public sealed class ClientCertificateValidator(ClusterAuthority authority, SampledAudit refusals, TimeProvider time, ILogger<ClientCertificateValidator> log)
{
    private static readonly TimeSpan CacheTtl = TimeSpan.FromMinutes(5);
    private const int MaxCacheEntries = 50_000;
    private readonly ConcurrentDictionary<string, DateTimeOffset> _valid = new(StringComparer.Ordinal);
    private volatile AuthorityGenerations? _cachedFor;

    /// <summary>Thumbprints per certificate object, so a certificate checked on every request is hashed once.</summary>
    private readonly ConditionalWeakTable<X509Certificate2, string> _thumbprints = new();

    public bool Validate(X509Certificate2 certificate)
    {
        if (!authority.IsReady)
        {
            return false;
        }
        var reason = Check(certificate);
        if (reason is not null)
        {
            log.LogWarning("Rejected a client certificate (subject {Subject}, issuer {Issuer}): {Reason}",
                certificate.Subject, certificate.Issuer, reason);
            // Counted and sampled like every refusal before a method runs; the handshake does not wait for the write.
            _ = refusals.RecordAsync(AuditCodes.Unauthenticated, ClientAddress.Text(ConnectionLimit.CurrentAddress.Value),
                CertificateAuthority.UserOf(certificate) ?? "", StatusCode.Unauthenticated, $"client certificate rejected at the TLS handshake: {reason}");
            return false;
        }
        return true;
    }

    /// <summary>
    /// Why <paramref name="certificate"/> is not a valid client certificate of this cluster now, or null; valid ones
    /// are remembered by thumbprint (for handshakes and for certificates a proxy forwards).
    /// </summary>
    public string? Check(X509Certificate2 certificate)
    {
        var now = time.GetUtcNow();
        var generations = authority.Generations;
        if (!Equals(generations, _cachedFor))
        {
            // A rotation step: a CA may no longer be trusted, so nothing checked against the old set is remembered.
            _valid.Clear();
            _cachedFor = generations;
        }
        var thumbprint = _thumbprints.GetValue(certificate, static c => c.GetCertHashString(HashAlgorithmName.SHA256));
        if (_valid.TryGetValue(thumbprint, out var until) && now < until)
        {
            return null;
        }
        var trusted = authority.TrustedCas;
        // Against the signing CA first; during a rotation the other one as well, and the signing CA's reason if neither.
        var reason = CertificateAuthority.ValidateClientCertificate(trusted[0], certificate, now);
        if (reason is not null && !trusted.Skip(1).Any(ca => CertificateAuthority.ValidateClientCertificate(ca, certificate, now) is null))
        {
            return reason;
        }
        if (_valid.Count >= MaxCacheEntries)
        {
            _valid.Clear();
        }
        var notAfter = new DateTimeOffset(certificate.NotAfter.ToUniversalTime(), TimeSpan.Zero);
        _valid[thumbprint] = notAfter < now + CacheTtl ? notAfter : now + CacheTtl;
        return null;
    }
}
