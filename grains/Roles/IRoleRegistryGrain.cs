namespace DeviceTrust.Grains.Roles;

/// <summary>The cluster's roles (singleton). Presets come from code; custom roles are stored as their YAML.</summary>
[Alias("dt.IRoleRegistryGrain")]
public interface IRoleRegistryGrain : IGrainWithStringKey
{
    /// <summary>Every role with a version that changes on every write; what gateways cache.</summary>
    [Alias("GetSnapshot")]
    Task<RoleSnapshot> GetSnapshotAsync();

    [Alias("Create")]
    Task<RoleDocument> CreateAsync(string yaml, bool overwrite);

    [Alias("Delete")]
    Task DeleteAsync(string name);

    /// <summary>The names in <paramref name="names"/> that are not roles.</summary>
    [Alias("FindMissing")]
    Task<IReadOnlyList<string>> FindMissingAsync(IReadOnlyList<string> names);
}

/// <summary>A role in its canonical YAML form.</summary>
[GenerateSerializer, Immutable, Alias("dt.RoleDocument")]
public sealed record RoleDocument([property: Id(0)] string Name, [property: Id(1)] string Yaml, [property: Id(2)] bool Preset);

[GenerateSerializer, Immutable, Alias("dt.RoleSnapshot")]
public sealed record RoleSnapshot([property: Id(0)] long Version, [property: Id(1)] IReadOnlyList<RoleDocument> Roles);
