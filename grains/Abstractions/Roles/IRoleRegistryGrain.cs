namespace DeviceTrust.Grains.Roles;

/// <summary>The cluster's roles (singleton). Presets come from code; custom roles are stored as their YAML.</summary>
[Alias("dt.IRoleRegistryGrain")]
public interface IRoleRegistryGrain : IGrainWithStringKey
{
    /// <summary>Every role with a version that changes on every write; what gateways cache.</summary>
    [Alias("GetSnapshot")]
    Task<RoleSnapshot> GetSnapshotAsync();

    /// <summary>The snapshot, or null when its version is still <paramref name="knownVersion"/> (gateways poll with this).</summary>
    [Alias("GetSnapshotIfChanged")]
    Task<RoleSnapshot?> GetSnapshotIfChangedAsync(long knownVersion);

    /// <summary>Stores the role; returns it in canonical form and the YAML it replaced, if any.</summary>
    [Alias("Create")]
    Task<RoleWrite> CreateAsync(string yaml, bool overwrite);

    /// <summary>Removes the role; returns its YAML.</summary>
    [Alias("Delete")]
    Task<string> DeleteAsync(string name);

    /// <summary>The names in <paramref name="names"/> that are not roles.</summary>
    [Alias("FindMissing")]
    Task<IReadOnlyList<string>> FindMissingAsync(IReadOnlyList<string> names);
}

/// <summary>A role in its canonical YAML form.</summary>
[GenerateSerializer, Immutable, Alias("dt.RoleDocument")]
public sealed record RoleDocument([property: Id(0)] string Name, [property: Id(1)] string Yaml, [property: Id(2)] bool Preset);

[GenerateSerializer, Immutable, Alias("dt.RoleWrite")]
public sealed record RoleWrite([property: Id(0)] RoleDocument Document, [property: Id(1)] string? Replaced);

[GenerateSerializer, Immutable, Alias("dt.RoleSnapshot")]
public sealed record RoleSnapshot([property: Id(0)] long Version, [property: Id(1)] IReadOnlyList<RoleDocument> Roles);
