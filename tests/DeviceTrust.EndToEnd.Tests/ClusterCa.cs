using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace DeviceTrust.EndToEnd.Tests;

/// <summary>How a plain HTTPS client of a test gateway trusts it: the cluster CA alone, as dtsh does, and the name checked.</summary>
public static class ClusterCa
{
    public static SslClientAuthenticationOptions Trusting(X509Certificate2 ca)
    {
        var policy = new X509ChainPolicy
        {
            TrustMode = X509ChainTrustMode.CustomRootTrust,
            RevocationMode = X509RevocationMode.NoCheck,
            DisableCertificateDownloads = true,
        };
        policy.CustomTrustStore.Add(ca);
        return new SslClientAuthenticationOptions { CertificateChainPolicy = policy };
    }
}
