using System.Security.Cryptography.X509Certificates;
using DeviceTrust.Client.Connection;
using DeviceTrust.Client.Diagnostics;
using DeviceTrust.Client.Profiles;
using DeviceTrust.Core.Errors;
using DeviceTrust.Proto.V1;

namespace DeviceTrust.Client.Devices;

/// <summary>Device authentication for a logged-in profile: swaps its certificate for one that carries the device extensions.</summary>
public static class DeviceLogin
{
    public static async Task<Profile> AuthenticateAsync(Profile profile, DeviceCredentialStore credentials, CancellationToken cancellationToken)
    {
        var info = credentials.Enrolled ?? throw DeviceTrustException.FailedPrecondition("this device is not enrolled: run dtsh device enroll");
        using var span = ClientTrace.Source.StartActivity("device authentication");
        using var channel = GatewayChannel.ForProfile(profile);
        UserCertificates issued;
        if (info.Kind == DeviceCredentialStore.TpmKind)
        {
            using var tpm = Tpm.Device.TpmDevice.Open(DeviceCredentialStore.TpmSpec);
            issued = await TpmCeremonies.AuthenticateAsync(channel, info.DeviceId, info.CredentialId, tpm, DeviceDataCollector.Collect(), cancellationToken);
        }
        else
        {
            using var key = credentials.LoadKey();
            issued = await DeviceCeremonies.AuthenticateAsync(channel, info.DeviceId, info.CredentialId, key, DeviceDataCollector.Collect(), cancellationToken);
        }
        var certificate = X509CertificateLoader.LoadCertificate(issued.X509Der.Span);
        using var issuedKey = certificate.GetECDsaPublicKey();
        if (issuedKey is null || !issuedKey.ExportSubjectPublicKeyInfo().AsSpan().SequenceEqual(profile.Key.ExportSubjectPublicKeyInfo()))
        {
            throw DeviceTrustException.FailedPrecondition("the gateway issued a certificate for a key that is not ours");
        }
        return new Profile
        {
            SshCertificate = Login.LoginFlow.SshCertificateFor(profile.Key, issued.SshCertificate),
            SshHostCa = profile.SshHostCa,
            OtherSshHostCas = profile.OtherSshHostCas,
            Proxy = profile.Proxy,
            User = profile.User,
            Cluster = profile.Cluster,
            Roles = profile.Roles,
            Ca = profile.Ca,
            OtherCas = profile.OtherCas,
            Certificate = certificate,
            Key = profile.Key,
            DeviceTrustMode = profile.DeviceTrustMode,
        };
    }

    /// <summary>
    /// Device web authentication: proves this device for the web console session that made <paramref name="address"/>'s
    /// token, over the profile's own connection (never to a gateway the address names), and returns the confirmation
    /// the browser presents. The profile's certificate is not changed.
    /// </summary>
    public static async Task<DeviceWebConfirmation> AuthenticateForWebAsync(Profile profile, DeviceCredentialStore credentials, DeviceWebAddress address,
        CancellationToken cancellationToken)
    {
        if (address.Cluster != profile.Cluster)
        {
            throw DeviceTrustException.FailedPrecondition(
                $"the address is for cluster \"{address.Cluster}\", but you are logged in to \"{profile.Cluster}\": log in to that cluster first");
        }
        var info = credentials.Enrolled ?? throw DeviceTrustException.FailedPrecondition("this device is not enrolled: run dtsh device enroll");
        using var channel = GatewayChannel.ForProfile(profile);
        if (info.Kind == DeviceCredentialStore.TpmKind)
        {
            using var tpm = Tpm.Device.TpmDevice.Open(DeviceCredentialStore.TpmSpec);
            return await TpmCeremonies.AuthenticateForWebAsync(channel, info.DeviceId, info.CredentialId, tpm, DeviceDataCollector.Collect(), address.Token, cancellationToken);
        }
        using var key = credentials.LoadKey();
        return await DeviceCeremonies.AuthenticateForWebAsync(channel, info.DeviceId, info.CredentialId, key, DeviceDataCollector.Collect(), address.Token, cancellationToken);
    }
}
