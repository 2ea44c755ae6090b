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
    Task<ConfigChange> UpdateDeviceTrustAsync(DeviceTrustUpdate update);

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
    [property: Id(4)] bool AllowSha1Signatures = false)
{
    /// <summary>OS (linux, macos, windows, linux/&lt;os_id&gt;) → minimum version (<see cref="Core.Devices.MinimumOsVersions"/>).</summary>
    [Id(5)] public IReadOnlyDictionary<string, string> MinOsVersions { get; init; } = new Dictionary<string, string>();

    /// <summary>The PCRs every quote must cover, like <c>sha256:0-7</c>; "" is that default.</summary>
    [Id(6)] public string QuotePcrs { get; init; } = "";

    /// <summary>The boot policy YAML as an administrator set it; "" is none.</summary>
    [Id(7)] public string BootPolicy { get; init; } = "";

    /// <summary>An MDM sync that changes a device's assigned user unenrolls it, if it is enrolled.</summary>
    [Id(8)] public bool UnenrollOnMdmOwnerChange { get; init; } = true;

    /// <summary>Deleting the devices a sync found missing needs a second confirmation above this share (percent) of the source's devices.</summary>
    [Id(9)] public int SyncConfirmTwicePercent { get; init; } = DefaultSyncConfirmTwicePercent;

    public const int DefaultSyncConfirmTwicePercent = 10;
}

/// <summary>
/// What an update changes; null leaves a setting as it is. <see cref="MinOsVersions"/> merges (a "" version
/// removes that OS); <see cref="BootPolicy"/> "" removes the policy; <see cref="QuotePcrs"/> "" restores the default.
/// </summary>
[GenerateSerializer, Immutable, Alias("dt.DeviceTrustUpdate")]
public sealed record DeviceTrustUpdate
{
    [Id(0)] public string? Mode { get; init; }
    [Id(1)] public bool? AutoEnroll { get; init; }
    [Id(2)] public IReadOnlyList<string>? EkCertAllowedCas { get; init; }
    [Id(3)] public string? MinAttestation { get; init; }
    [Id(4)] public bool? AllowSha1Signatures { get; init; }
    [Id(5)] public IReadOnlyDictionary<string, string>? MinOsVersions { get; init; }
    [Id(6)] public string? QuotePcrs { get; init; }
    [Id(7)] public string? BootPolicy { get; init; }
    [Id(8)] public bool? UnenrollOnMdmOwnerChange { get; init; }
    [Id(9)] public int? SyncConfirmTwicePercent { get; init; }
}

/// <summary>The configuration before and after an update (the same when nothing changed).</summary>
[GenerateSerializer, Immutable, Alias("dt.ConfigChange")]
public sealed record ConfigChange([property: Id(0)] ClusterConfigView Before, [property: Id(1)] ClusterConfigView After);

[GenerateSerializer, Immutable, Alias("dt.ClusterConfigView")]
public sealed record ClusterConfigView(
    [property: Id(0)] long Version,
    [property: Id(1)] DeviceTrustSettings DeviceTrust,
    [property: Id(2)] bool Bootstrapped);
