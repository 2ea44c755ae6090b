using DeviceTrust.Core.Errors;
using DeviceTrust.Core.Roles;
using DeviceTrust.Core.Users;

namespace DeviceTrust.Grains.Roles;

public sealed class RoleRegistryState
{
    public long Version { get; set; }
    /// <summary>Custom roles by name, as canonical YAML.</summary>
    public SortedDictionary<string, string> Custom { get; set; } = new(StringComparer.Ordinal);
}

public sealed class RoleRegistryGrain(
    [PersistentState(StateNames.Roles, StateNames.Storage)] IPersistentState<RoleRegistryState> state) : Grain, IRoleRegistryGrain
{
    public const string Key = "cluster";

    private static readonly IReadOnlyList<RoleDocument> Presets =
        PresetRoles.All.Select(r => new RoleDocument(r.Name, RoleYaml.Write(r), Preset: true)).ToList();

    public Task<RoleSnapshot> GetSnapshotAsync() =>
        Task.FromResult(new RoleSnapshot(
            state.State.Version,
            Presets.Concat(state.State.Custom.Select(c => new RoleDocument(c.Key, c.Value, Preset: false)))
                .OrderBy(r => r.Name, StringComparer.Ordinal).ToList()));

    public async Task<RoleDocument> CreateAsync(string yaml, bool overwrite)
    {
        var role = RoleYaml.Parse(yaml);
        if (PresetRoles.IsPreset(role.Name))
        {
            throw DeviceTrustException.FailedPrecondition($"role \"{role.Name}\" is a preset role and cannot be replaced");
        }
        if (!overwrite && state.State.Custom.ContainsKey(role.Name))
        {
            throw DeviceTrustException.AlreadyExists($"role \"{role.Name}\" already exists (use --force to replace it)");
        }
        var canonical = RoleYaml.Write(role);
        state.State.Custom[role.Name] = canonical;
        state.State.Version++;
        await state.WriteOrDeactivateAsync(DeactivateOnIdle);
        return new RoleDocument(role.Name, canonical, Preset: false);
    }

    public async Task DeleteAsync(string name)
    {
        if (PresetRoles.IsPreset(name))
        {
            throw DeviceTrustException.FailedPrecondition($"role \"{name}\" is a preset role and cannot be deleted");
        }
        if (!state.State.Custom.Remove(name))
        {
            throw DeviceTrustException.NotFound($"role \"{UserName.Printable(name)}\" not found");
        }
        state.State.Version++;
        await state.WriteOrDeactivateAsync(DeactivateOnIdle);
    }

    public Task<IReadOnlyList<string>> FindMissingAsync(IReadOnlyList<string> names) =>
        Task.FromResult<IReadOnlyList<string>>(
            names.Where(n => !PresetRoles.IsPreset(n) && !state.State.Custom.ContainsKey(n)).Select(UserName.Printable).ToList());
}
