using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using DeviceTrust.Client.Connection;
using DeviceTrust.Client.Profiles;
using DeviceTrust.Core.Errors;
using DeviceTrust.Core.Invitations;
using DeviceTrust.Proto.V1;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

namespace DeviceTrust.Client.Login;

/// <summary>
/// Password login and invitation acceptance. Each generates a fresh P-256 key here and sends only its public
/// half; the gateway answers with a certificate for it.
/// </summary>
public static class LoginFlow
{
    public static async Task<Profile> AcceptInvitationAsync(string proxy, InvitationToken invitation, string newPassword, TimeSpan? ttl,
        CancellationToken cancellationToken)
    {
        var ca = await CaDiscovery.FetchPinnedAsync(proxy, invitation.CaPin, cancellationToken);
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var channel = GatewayChannel.Anonymous(proxy, ca);
        var request = new AcceptInvitationRequest
        {
            User = invitation.User,
            InviteSecret = invitation.Secret,
            NewPassword = newPassword,
            PublicKey = ByteString.CopyFrom(key.ExportSubjectPublicKeyInfo()),
            Ttl = ttl is { } t ? Duration.FromTimeSpan(t) : null,
        };
        var response = await Pushback.RetryAsync(
            async () => await new AuthService.AuthServiceClient(channel).AcceptInvitationAsync(request, cancellationToken: cancellationToken), cancellationToken);
        return ToProfile(proxy, ca, key, response);
    }

    public static async Task<Profile> LoginAsync(string proxy, IReadOnlyList<X509Certificate2> cas, string user, string password, TimeSpan? ttl,
        CancellationToken cancellationToken)
    {
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var channel = GatewayChannel.Anonymous(proxy, cas);
        var request = new LoginRequest
        {
            User = user,
            Password = password,
            PublicKey = ByteString.CopyFrom(key.ExportSubjectPublicKeyInfo()),
            Ttl = ttl is { } t ? Duration.FromTimeSpan(t) : null,
        };
        var response = await Pushback.RetryAsync(
            async () => await new AuthService.AuthServiceClient(channel).LoginAsync(request, cancellationToken: cancellationToken), cancellationToken);
        return ToProfile(proxy, cas[0], key, response);
    }

    /// <summary>
    /// The profile a login answer makes. The CAs to trust from now on are the ones the gateway listed (it proved itself
    /// with a CA we trusted, so its list is the cluster's): during a rotation that is two, so the switch breaks nothing.
    /// </summary>
    private static Profile ToProfile(string proxy, X509Certificate2 ca, ECDsa key, LoginResponse response)
    {
        var certificate = X509CertificateLoader.LoadCertificate(response.CertificateDer.Span);
        using var certificateKey = certificate.GetECDsaPublicKey();
        if (certificateKey is null || !certificateKey.ExportSubjectPublicKeyInfo().AsSpan().SequenceEqual(key.ExportSubjectPublicKeyInfo()))
        {
            throw DeviceTrustException.FailedPrecondition("the gateway issued a certificate for a key that is not ours");
        }
        var trusted = TrustedCas(ca, response);
        return new Profile
        {
            SshCertificate = SshCertificateFor(key, response.SshCertificate),
            SshHostCa = response.SshHostCas.Count > 0 ? response.SshHostCas[0] : response.SshHostCa,
            OtherSshHostCas = response.SshHostCas.Skip(1).Take(3).ToList(),
            Proxy = GatewayAddress.Normalize(proxy),
            User = response.User,
            Cluster = response.ClusterName,
            Roles = response.Roles.ToList(),
            DeviceTrustMode = response.DeviceTrustMode,
            AutoEnroll = response.AutoEnroll,
            Ca = trusted[0],
            OtherCas = trusted.Skip(1).ToList(),
            Certificate = certificate,
            Key = key,
        };
    }

    private static List<X509Certificate2> TrustedCas(X509Certificate2 connectedWith, LoginResponse response)
    {
        if (response.TrustedCaCertificatesDer.Count is 0 or > 4)
        {
            return [connectedWith]; // a gateway from before rotations
        }
        try
        {
            return response.TrustedCaCertificatesDer.Select(der => X509CertificateLoader.LoadCertificate(der.Span)).ToList();
        }
        catch (CryptographicException)
        {
            throw DeviceTrustException.FailedPrecondition("the gateway listed a cluster CA that is not a certificate");
        }
    }

    /// <summary>The SSH certificate the gateway issued, checked to be a user certificate for our key; null when there is none.</summary>
    public static Core.Ssh.SshCertificate? SshCertificateFor(ECDsa key, ByteString blob)
    {
        if (blob.IsEmpty)
        {
            return null;
        }
        var certificate = Core.Ssh.SshCertificate.Parse(blob.Span);
        if (certificate.Type != Core.Ssh.SshCertificateType.User || !certificate.Key.Equals(Core.Ssh.SshPublicKey.FromEcdsa(key)))
        {
            throw DeviceTrustException.FailedPrecondition("the gateway issued an SSH certificate for a key that is not ours");
        }
        return certificate;
    }
}
