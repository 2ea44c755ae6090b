namespace DeviceTrust.Grains.Authorities;

/// <summary>
/// The cluster's X.509 certificate authority, keyed by its purpose ("user"). It creates the CA once and hands out its
/// certificate and encrypted key, with the other CA of a rotation in progress; signing happens where requests are
/// handled, never here.
/// </summary>
[Alias("dt.ICertificateAuthorityGrain")]
public interface ICertificateAuthorityGrain : IGrainWithStringKey
{
    [Alias("GetOrCreate")]
    Task<CaTrust> GetOrCreateAsync(string clusterName);

    /// <summary>
    /// Takes one step of a rotation (a new CA named after the cluster at Start) and returns the result;
    /// FailedPrecondition with what to do when the step does not follow the current phase. The CA must exist.
    /// </summary>
    [Alias("Rotate")]
    Task<CaTrust> RotateAsync(CaRotationStep step, string clusterName);

    /// <summary>
    /// Re-encrypts the private keys (the current and the rotation's other) under the current master key if it is under the previous one (a rotation);
    /// true if it did, false if it already was (or the CA does not exist yet).
    /// </summary>
    [Alias("Rewrap")]
    Task<bool> RewrapAsync();
}

/// <summary>The CA certificate (DER) and its PKCS#8 private key encrypted with the master key.</summary>
[GenerateSerializer, Immutable, Alias("dt.CaMaterial")]
public sealed record CaMaterial([property: Id(0)] byte[] CertificateDer, [property: Id(1)] byte[] EncryptedPrivateKey);

/// <summary>
/// The CA that signs (<paramref name="Current"/>) and, during a rotation, the other one every verifier also trusts:
/// the next CA while <see cref="CaRotationPhase.Published"/>, the replaced one while <see cref="CaRotationPhase.Switched"/>.
/// </summary>
[GenerateSerializer, Immutable, Alias("dt.CaTrust")]
public sealed record CaTrust([property: Id(0)] CaRotation Rotation, [property: Id(1)] CaMaterial Current, [property: Id(2)] CaMaterial? Other);
