namespace DeviceTrust.Grains.Authorities;

/// <summary>
/// One certificate authority of the cluster, keyed by its purpose ("user" now; "ssh" later). It creates the CA
/// once and hands out its certificate and encrypted key; signing happens where requests are handled, never here.
/// </summary>
[Alias("dt.ICertificateAuthorityGrain")]
public interface ICertificateAuthorityGrain : IGrainWithStringKey
{
    [Alias("GetOrCreate")]
    Task<CaMaterial> GetOrCreateAsync(string clusterName);

    /// <summary>
    /// Re-encrypts the private key under the current master key if it is under the previous one (a rotation);
    /// true if it did, false if it already was (or the CA does not exist yet).
    /// </summary>
    [Alias("Rewrap")]
    Task<bool> RewrapAsync();
}

/// <summary>The CA certificate (DER) and its PKCS#8 private key encrypted with the master key.</summary>
[GenerateSerializer, Immutable, Alias("dt.CaMaterial")]
public sealed record CaMaterial([property: Id(0)] byte[] CertificateDer, [property: Id(1)] byte[] EncryptedPrivateKey);
