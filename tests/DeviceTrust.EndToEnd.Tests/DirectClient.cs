using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using DeviceTrust.Client.Connection;
using DeviceTrust.Proto.V1;
using Grpc.Core;

namespace DeviceTrust.EndToEnd.Tests;

/// <summary>Raw gRPC calls with a certificate of the test's choosing, to see what the gateway does with it.</summary>
public static class DirectClient
{
    public static async Task<StatusCode> WhoAmIStatusAsync(string proxy, X509Certificate2 ca, X509Certificate2? clientCertificate)
    {
        using var channel = GatewayChannel.Create(proxy, ca, clientCertificate);
        try
        {
            await new AuthService.AuthServiceClient(channel).WhoAmIAsync(new WhoAmIRequest(), deadline: DateTime.UtcNow.AddSeconds(20));
            return StatusCode.OK;
        }
        catch (RpcException e)
        {
            return e.StatusCode;
        }
    }

    /// <summary>A self-made CA and a user certificate from it that looks like ours in every other way.</summary>
    public static X509Certificate2 ForeignCertificate(string user)
    {

        var now = DateTimeOffset.UtcNow;
        using var foreign = Core.Certificates.CertificateAuthority.Create("devicetrust user CA", now, TimeSpan.FromDays(1));
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var certificate = foreign.IssueUserCertificate(
            Core.Certificates.CertificateAuthority.ParseUserPublicKey(key.ExportSubjectPublicKeyInfo()), user, new Core.Certificates.UserIdentity(Guid.NewGuid(), 1), now, now.AddHours(1)).Load();
        return certificate.CopyWithPrivateKey(key);
    }
}
