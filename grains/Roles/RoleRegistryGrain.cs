using System.Text;
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
    public const string Key = GrainKeys.Cluster;

    /// <summary>
    /// Every gateway and client reads all roles in one message: at most this many custom roles, and this many bytes of
    /// them in all, keep that message far below what gRPC clients accept (4 MiB by default).
    /// </summary>
    public const int MaxCustomRoles = 256;
    public const int MaxTotalBytes = 1024 * 1024;

    private static readonly IReadOnlyList<RoleDocument> Presets =
        PresetRoles.All.Select(r => new RoleDocument(r.Name, RoleYaml.Write(r), Preset: true)).ToList();

    /// <summary>Every role: the presets (as edited, when they were) and the custom roles.</summary>
    public Task<RoleSnapshot> GetSnapshotAsync() =>
        Task.FromResult(new RoleSnapshot(
            state.State.Version,
            Presets.Select(p => state.State.Custom.TryGetValue(p.Name, out var edited) ? p with { Yaml = edited } : p)
                .Concat(state.State.Custom.Where(c => !PresetRoles.IsPreset(c.Key)).Select(c => new RoleDocument(c.Key, c.Value, Preset: false)))
                .OrderBy(r => r.Name, StringComparer.Ordinal).ToList()));

    public async Task<RoleSnapshot?> GetSnapshotIfChangedAsync(long knownVersion) =>
        knownVersion == state.State.Version ? null : await GetSnapshotAsync();

    public async Task<RoleWrite> CreateAsync(string yaml, bool overwrite)
    {
        var role = RoleYaml.Parse(yaml);
        var preset = PresetRoles.IsPreset(role.Name);
        // A preset role always exists, so it can be edited (replaced) but not created again.
        if (!overwrite && (preset || state.State.Custom.ContainsKey(role.Name)))
        {
            throw DeviceTrustException.AlreadyExists($"role \"{role.Name}\" already exists (use --force to replace it)");
        }
        // What is stored is the canonical text: bounded like the input, and it must read back to the same role, or a
        // role that was accepted could stop parsing (and grant nothing) later.
        var canonical = RoleYaml.Write(role);
        var size = Encoding.UTF8.GetByteCount(canonical);
        if (size > RoleYaml.MaxBytes)
        {
            throw DeviceTrustException.InvalidArgument($"role \"{role.Name}\" is {size} bytes in canonical form, more than {RoleYaml.MaxBytes / 1024} KiB");
        }
        if (RoleYaml.Write(RoleYaml.Parse(canonical)) != canonical)
        {
            throw DeviceTrustException.InvalidArgument($"role \"{role.Name}\" does not read back the same after it is written: simplify it");
        }
        var others = state.State.Custom.Where(c => c.Key != role.Name).ToList();
        if (others.Count + 1 > MaxCustomRoles)
        {
            throw DeviceTrustException.FailedPrecondition($"the cluster already has {others.Count} custom roles, the most it keeps: delete one first");
        }
        var total = others.Sum(c => Encoding.UTF8.GetByteCount(c.Value)) + size;
        if (total > MaxTotalBytes)
        {
            throw DeviceTrustException.FailedPrecondition($"the custom roles would take {total} bytes, more than {MaxTotalBytes / 1024} KiB in all: delete or shorten some");
        }
        var replaced = state.State.Custom.GetValueOrDefault(role.Name) ?? (preset ? Presets.Single(p => p.Name == role.Name).Yaml : null);
        state.State.Custom[role.Name] = canonical;
        state.State.Version++;
        await state.WriteOrDeactivateAsync(DeactivateOnIdle);
        return new RoleWrite(new RoleDocument(role.Name, canonical, preset), replaced);
    }

    public async Task<string> DeleteAsync(string name)
    {
        if (PresetRoles.IsPreset(name) && !state.State.Custom.ContainsKey(name))
        {
            throw DeviceTrustException.FailedPrecondition($"role \"{name}\" is a preset role and cannot be deleted");
        }
        // Deleting an edited preset role undoes the edit: the preset as shipped is back.
        if (!state.State.Custom.Remove(name, out var removed))
        {
            throw DeviceTrustException.NotFound($"role \"{UserName.Printable(name)}\" not found");
        }
        state.State.Version++;
        await state.WriteOrDeactivateAsync(DeactivateOnIdle);
        return removed;
    }

    public Task<IReadOnlyList<string>> FindMissingAsync(IReadOnlyList<string> names) =>
        Task.FromResult<IReadOnlyList<string>>(
            names.Where(n => !PresetRoles.IsPreset(n) && !state.State.Custom.ContainsKey(n)).Select(UserName.Printable).ToList());
}
