using System.Collections.Concurrent;
using DeviceTrust.Core.Roles;
using DeviceTrust.Gateway.Hosting;
using DeviceTrust.Grains;
using DeviceTrust.Grains.Config;
using DeviceTrust.Grains.Locks;
using DeviceTrust.Grains.Nodes;
using DeviceTrust.Grains.Roles;
using DeviceTrust.Grains.Users;

namespace DeviceTrust.Gateway.Policy;

/// <summary>
/// Users and roles as the gateway sees them on the hot path: looked up live, cached for at most
/// <see cref="GatewayOptions.PolicyCacheTtl"/> (bounded staleness), so a role change or a deleted user takes effect
/// within seconds on every gateway without funnelling every request through the role singleton.
/// Changes made through this gateway invalidate its own entries at once.
/// </summary>
public sealed class IdentityCache(IGrainFactory grains, GatewayOptions options, TimeProvider time, ILogger<IdentityCache> log)
{
    private const int MaxUsers = 100_000;
    private readonly ConcurrentDictionary<string, (UserView? User, DateTimeOffset Fetched)> _users = new(StringComparer.Ordinal);
    private volatile RoleTable? _roles;
    private volatile ConfigEntry? _config;
    private volatile LockTable? _locks;
    private volatile NodeTable? _nodes;

    public async ValueTask<UserView?> GetUserAsync(string name)
    {
        var now = time.GetUtcNow();
        if (_users.TryGetValue(name, out var entry) && now - entry.Fetched < options.PolicyCacheTtl)
        {
            return entry.User;
        }
        var user = await grains.GetGrain<IUserGrain>(name).GetAsync();
        if (_users.Count >= MaxUsers)
        {
            _users.Clear();
        }
        _users[name] = (user, now);
        return user;
    }

    /// <summary>The roles with these names that exist; unknown names (a deleted role) grant nothing.</summary>
    public async ValueTask<IReadOnlyList<Role>> RolesAsync(IEnumerable<string> names)
    {
        var table = await RoleTableAsync();
        return names.Select(n => table.ByName.GetValueOrDefault(n)).OfType<Role>().ToList();
    }

    /// <summary>Whether the user's roles allow the verb on the resource.</summary>
    public async ValueTask<bool> AllowsAsync(UserView user, string resource, string verb) =>
        RoleSet.Allows(await RolesAsync(user.Roles), resource, verb);

    /// <summary>The cluster configuration, at most <see cref="GatewayOptions.PolicyCacheTtl"/> stale.</summary>
    public async ValueTask<ClusterConfigView> ConfigAsync()
    {
        var now = time.GetUtcNow();
        if (_config is { } cached && now - cached.Fetched < options.PolicyCacheTtl)
        {
            return cached.View;
        }
        var view = await grains.GetGrain<IClusterConfigGrain>(GrainKeys.Cluster).GetAsync();
        _config = new ConfigEntry(view, now);
        return view;
    }

    /// <summary>The locks in force in the snapshot held now (null before the first fetch), for the metrics: no call.</summary>
    public int? LocksInForce => _locks is { } table ? table.Index.All.Count(l => l.InForce(time.GetUtcNow())) : null;

    /// <summary>How old each policy snapshot held now is (roles, locks, config, nodes), for the metrics: no call.</summary>
    public IEnumerable<(string Snapshot, TimeSpan Age)> SnapshotAges()
    {
        var now = time.GetUtcNow();
        if (_roles is { } roles)
        {
            yield return ("roles", now - roles.Fetched);
        }
        if (_locks is { } locks)
        {
            yield return ("locks", now - locks.Fetched);
        }
        if (_config is { } config)
        {
            yield return ("config", now - config.Fetched);
        }
        if (_nodes is { } nodes)
        {
            yield return ("nodes", now - nodes.Fetched);
        }
    }

    public void InvalidateConfig() => _config = null;

    public void InvalidateUser(string name) => _users.TryRemove(name, out _);

    public void InvalidateRoles() => _roles = null;

    public void InvalidateLocks() => _locks = null;

    public void InvalidateNodes() => _nodes = null;

    /// <summary>The joined nodes, at most <see cref="GatewayOptions.PolicyCacheTtl"/> stale, fetched only when they changed.</summary>
    public async ValueTask<NodeIndex> NodesAsync()
    {
        var now = time.GetUtcNow();
        var current = _nodes;
        if (current is not null && now - current.Fetched < options.PolicyCacheTtl)
        {
            return current.Index;
        }
        var snapshot = await grains.GetGrain<INodeRegistryGrain>(GrainKeys.Cluster).GetSnapshotIfChangedAsync(current?.Version ?? -1);
        var fresh = snapshot is null && current is not null
            ? current with { Fetched = now }
            : new NodeTable(new NodeIndex(snapshot!.Nodes), snapshot.Version, now);
        _nodes = fresh;
        return fresh.Index;
    }

    /// <summary>The locks in force, at most <see cref="GatewayOptions.PolicyCacheTtl"/> stale, fetched only when they changed.</summary>
    public async ValueTask<LockIndex> LocksAsync()
    {
        var now = time.GetUtcNow();
        var current = _locks;
        if (current is not null && now - current.Fetched < options.PolicyCacheTtl)
        {
            return current.Index;
        }
        var snapshot = await grains.GetGrain<ILockRegistryGrain>(GrainKeys.Cluster).GetSnapshotIfChangedAsync(current?.Version ?? -1);
        var fresh = snapshot is null && current is not null
            ? current with { Fetched = now }
            : new LockTable(new LockIndex(snapshot!.Locks), snapshot.Version, now);
        _locks = fresh;
        return fresh.Index;
    }

    private async ValueTask<RoleTable> RoleTableAsync()
    {
        var now = time.GetUtcNow();
        var current = _roles;
        if (current is not null && now - current.Fetched < options.PolicyCacheTtl)
        {
            return current;
        }
        // Asks for the roles only when they changed: the registry answers null while the version is the one we hold,
        // so a quiet cluster costs one small call per refresh, not a copy and a parse of every role.
        var snapshot = await grains.GetGrain<IRoleRegistryGrain>(GrainKeys.Cluster).GetSnapshotIfChangedAsync(current?.Version ?? -1);
        if (snapshot is null && current is not null)
        {
            var refreshed = current with { Fetched = now };
            _roles = refreshed;
            return refreshed;
        }
        snapshot ??= await grains.GetGrain<IRoleRegistryGrain>(GrainKeys.Cluster).GetSnapshotAsync();
        var byName = new Dictionary<string, Role>(StringComparer.Ordinal);
        foreach (var document in snapshot.Roles)
        {
            try
            {
                byName[document.Name] = RoleYaml.Parse(document.Yaml);
            }
            catch (Core.Errors.DeviceTrustException e)
            {
                // Stored roles were validated when written; one that no longer parses grants nothing.
                log.LogError("Stored role {Role} does not parse and grants nothing: {Reason}", document.Name, e.Message);
            }
        }
        var fresh = new RoleTable(byName, snapshot.Version, now);
        _roles = fresh;
        return fresh;
    }

    private sealed record ConfigEntry(ClusterConfigView View, DateTimeOffset Fetched);

    private sealed record LockTable(LockIndex Index, long Version, DateTimeOffset Fetched);

    private sealed record NodeTable(NodeIndex Index, long Version, DateTimeOffset Fetched);

    private sealed record RoleTable(IReadOnlyDictionary<string, Role> ByName, long Version, DateTimeOffset Fetched);
}
