using System.Security.Cryptography.X509Certificates;
using DeviceTrust.Core.Certificates;
using DeviceTrust.Core.Ssh;
using DeviceTrust.Gateway.Hosting;
using DeviceTrust.Gateway.Policy;
using DeviceTrust.Grains.Users;

namespace DeviceTrust.Gateway.Authentication;

/// <summary>A user's certificates for one key: X.509 (gateway, proxies) and, when a role allows a login, OpenSSH.</summary>
public sealed record IssuedCertificates(byte[] X509Der, byte[]? Ssh);

/// <summary>
/// The one place user certificates are made: at login, at invitation acceptance and after device authentication.
/// Both certificates are for the key the client generated, say the same user (name, id, generation) and device, and
/// end at the same moment, so whatever holds one holds the other.
/// </summary>
public sealed class CertificateIssuer(ClusterAuthority authority, IdentityCache identities, TimeProvider time)
{
    public async Task<IssuedCertificates> IssueAsync(UserView user, PublicKey publicKey, DateTimeOffset notAfter, DeviceExtensions? device)
    {
        var now = time.GetUtcNow();
        var identity = new UserIdentity(user.Id, user.Generation);
        var x509 = authority.Ca.IssueUserCertificate(publicKey, user.Name, identity, now, notAfter, device?.ToX509());
        var logins = (await identities.RolesAsync(user.Roles)).SelectMany(r => r.Logins).ToList();
        byte[]? ssh = null;
        if (logins.Count > 0)
        {
            ssh = authority.SshUsers.Issue(SshIdentity.UserCertificate(SshPublicKey.FromIssuedP256(publicKey), user.Name, identity, device, logins, now, x509.NotAfter))
                .Blob.ToArray();
        }
        return new IssuedCertificates(x509.Der, ssh);
    }
}
