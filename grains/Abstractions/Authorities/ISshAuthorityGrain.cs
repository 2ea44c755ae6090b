namespace DeviceTrust.Grains.Authorities;

/// <summary>
/// One SSH certificate authority of the cluster, keyed by what it signs (<see cref="SshAuthorityGrain.UserCa"/>,
/// <see cref="SshAuthorityGrain.HostCa"/>). Like the X.509 CA it creates its key once and hands it out encrypted;
/// signing happens in the gateway.
/// </summary>
[Alias("dt.ISshAuthorityGrain")]
public interface ISshAuthorityGrain : IGrainWithStringKey
{
    [Alias("GetOrCreate")]
    Task<SshCaMaterial> GetOrCreateAsync();

    /// <summary>
    /// Re-encrypts the private key under the current master key if it is under the previous one (a rotation);
    /// true if it did, false if it already was (or the CA does not exist yet).
    /// </summary>
    [Alias("Rewrap")]
    Task<bool> RewrapAsync();
}

/// <summary>The CA's PKCS#8 private key, encrypted with the master key.</summary>
[GenerateSerializer, Immutable, Alias("dt.SshCaMaterial")]
public sealed record SshCaMaterial([property: Id(0)] byte[] EncryptedPrivateKey);
