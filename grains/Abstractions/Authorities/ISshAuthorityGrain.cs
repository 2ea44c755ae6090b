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
    Task<SshCaTrust> GetOrCreateAsync();

    /// <summary>Takes one step of a rotation, as <see cref="ICertificateAuthorityGrain.RotateAsync"/> does.</summary>
    [Alias("Rotate")]
    Task<SshCaTrust> RotateAsync(CaRotationStep step);

    /// <summary>
    /// Re-encrypts the private keys (the current and the rotation's other) under the current master key if it is under the previous one (a rotation);
    /// true if it did, false if it already was (or the CA does not exist yet).
    /// </summary>
    [Alias("Rewrap")]
    Task<bool> RewrapAsync();
}

/// <summary>The CA's PKCS#8 private key, encrypted with the master key.</summary>
[GenerateSerializer, Immutable, Alias("dt.SshCaMaterial")]
public sealed record SshCaMaterial([property: Id(0)] byte[] EncryptedPrivateKey);

/// <summary>The SSH CA that signs and, during a rotation, the other one nodes and clients also trust (as in <see cref="CaTrust"/>).</summary>
[GenerateSerializer, Immutable, Alias("dt.SshCaTrust")]
public sealed record SshCaTrust([property: Id(0)] CaRotation Rotation, [property: Id(1)] SshCaMaterial Current, [property: Id(2)] SshCaMaterial? Other);
