namespace DeviceTrust.Grains.Config;

/// <summary>The cluster configuration (singleton): device trust settings and the one-time bootstrap marker.</summary>
[Alias("dt.IClusterConfigGrain")]
public interface IClusterConfigGrain : IGrainWithStringKey
{
    [Alias("Get")]
    Task<ClusterConfigView> GetAsync();

    /// <summary>
    /// Changes the fields that are not null, in one write: every value is validated first (unknown mode or attestation
    /// type, a CA that is not a PEM certificate), and a request with any bad value changes nothing.
    /// </summary>
    [Alias("UpdateDeviceTrust")]
    Task<ConfigChange> UpdateDeviceTrustAsync(string? mode, bool? autoEnroll, IReadOnlyList<string>? ekCertAllowedCas, string? minimumAttestation,
        bool? allowSha1Signatures = null);

    /// <summary>Records that the first start has created the bootstrap user; returns false if it had already.</summary>
    [Alias("MarkBootstrapped")]
    Task<bool> MarkBootstrappedAsync();
}

[GenerateSerializer, Immutable, Alias("dt.DeviceTrustSettings")]
public sealed record DeviceTrustSettings(
    [property: Id(0)] string Mode,
    [property: Id(1)] bool AutoEnroll,
    [property: Id(2)] IReadOnlyList<string> EkCertAllowedCas,
    [property: Id(3)] string MinAttestation,
    [property: Id(4)] bool AllowSha1Signatures = false);

/// <summary>The configuration before and after an update (the same when nothing changed).</summary>
[GenerateSerializer, Immutable, Alias("dt.ConfigChange")]
public sealed record ConfigChange([property: Id(0)] ClusterConfigView Before, [property: Id(1)] ClusterConfigView After);

[GenerateSerializer, Immutable, Alias("dt.ClusterConfigView")]
public sealed record ClusterConfigView(
    [property: Id(0)] long Version,
    [property: Id(1)] DeviceTrustSettings DeviceTrust,
    [property: Id(2)] bool Bootstrapped);
