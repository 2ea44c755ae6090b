using System.Runtime.CompilerServices;
using System.Security.Cryptography.X509Certificates;
using DeviceTrust.Core.Certificates;
using DeviceTrust.Core.Errors;
using DeviceTrust.Core.Users;
using DeviceTrust.Gateway.Policy;

namespace DeviceTrust.Gateway.Authentication;

/// <summary>
/// From a user certificate to the live user it stands for: the name in its subject, then the immutable id and the
/// credential generation it carries, compared with the user as it is now (docs/decisions/0007). Used for the
/// caller's own certificate and for certificates others present (a proxy asking about its client).
/// </summary>
public sealed class CertificateUsers(IdentityCache identities, ClientCertificateValidator validator, TimeProvider time)
{
    /// <summary>What a certificate says, read once per certificate object (its bytes never change).</summary>
    private sealed record Claims(string? Name, UserIdentity? Identity, DeviceExtensions? Device, DateTime NotAfterUtc);

    /// <summary>
    /// Per certificate object: the one Kestrel holds for a connection, or the one the proxy endpoint parsed from a
    /// forwarded header and keeps; reading the subject and three extensions each request cost more than the decision.
    /// </summary>
    private readonly ConditionalWeakTable<X509Certificate2, Claims> _claims = new();

    /// <summary>
    /// The caller behind <paramref name="certificate"/>, or Unauthenticated with the reason. With
    /// <paramref name="verifyChain"/> the certificate is first checked against the cluster CA (for certificates that
    /// did not come through our TLS handshake).
    /// </summary>
    public async ValueTask<Caller> ResolveAsync(X509Certificate2 certificate, bool verifyChain, string whose = "your")
    {
        var now = time.GetUtcNow();
        if (verifyChain && validator.Check(certificate) is { } problem)
        {
            throw DeviceTrustException.Unauthenticated($"{whose} certificate is not a valid certificate of this cluster: {problem}");
        }
        // Kestrel checked the chain at the handshake, but an HTTP/2 connection can outlive the certificate.
        var claims = _claims.GetValue(certificate, static c => new Claims(CertificateAuthority.UserOf(c), UserIdentity.Read(c), DeviceExtensions.Read(c),
            c.NotAfter.ToUniversalTime()));
        if (claims.NotAfterUtc <= now.UtcDateTime)
        {
            throw DeviceTrustException.Unauthenticated($"{whose} certificate has expired: log in again with dtsh login");
        }
        var user = await LiveUserAsync(claims.Name, claims.Identity, whose);
        return new Caller(user, certificate, claims.Device);
    }

    /// <summary>
    /// The live user a certificate (X.509 or SSH) names by <paramref name="name"/> and <paramref name="identity"/>, or
    /// Unauthenticated with the reason: the user must exist, be the same user (id) and not have been reset since
    /// (generation).
    /// </summary>
    public async ValueTask<Grains.Users.UserView> LiveUserAsync(string? name, UserIdentity? identity, string whose)
    {
        var user = UserName.IsValid(name) ? await identities.GetUserAsync(name!) : null;
        if (user is null)
        {
            throw DeviceTrustException.Unauthenticated($"the user \"{UserName.Printable(name ?? "")}\" of {whose} certificate no longer exists");
        }
        if (identity is null)
        {
            throw DeviceTrustException.Unauthenticated($"{whose} certificate carries no user id (it was issued by an older version): log in again with dtsh login");
        }
        if (identity.UserId != user.Id)
        {
            throw DeviceTrustException.Unauthenticated(
                $"{whose} certificate was issued to an earlier user named \"{user.Name}\", not to the current one: log in again with dtsh login");
        }
        if (identity.Generation != user.Generation)
        {
            throw DeviceTrustException.Unauthenticated($"{whose} certificate was revoked when {(whose == "your" ? "your" : "the")} account was reset: log in again with dtsh login");
        }
        return user;
    }
}
