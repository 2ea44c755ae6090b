using System.Security.Cryptography;
using DeviceTrust.Core.Errors;
using DeviceTrust.Core.Nodes;

namespace DeviceTrust.Grains.Nodes;

public sealed class NodeRegistryState
{
    public long Version { get; set; }
    public Dictionary<string, NodeRecord> Nodes { get; set; } = new(StringComparer.Ordinal);
}

public sealed class NodeRegistryGrain(
    [PersistentState(StateNames.Nodes, StateNames.Storage)] IPersistentState<NodeRegistryState> state,
    TimeProvider time) : Grain, INodeRegistryGrain
{
    public const string Key = GrainKeys.Cluster;

    /// <summary>Every gateway holds all joined nodes; this bounds that copy (and the message that carries it).</summary>
    public const int MaxNodes = 20_000;

    /// <summary>Liveness is memory only: a heartbeat is not worth a database write, and it is stale after a restart anyway.</summary>
    private readonly Dictionary<Guid, DateTimeOffset> _lastSeen = [];

    /// <summary>Joined node ids, for heartbeats; rebuilt after a change.</summary>
    private HashSet<Guid>? _joinedIds;

    public async Task<NodeRecord> AddAsync(NodeRecord node)
    {
        var now = time.GetUtcNow();
        if (state.State.Nodes.TryGetValue(node.Name, out var existing))
        {
            if (existing.IsJoined || now < existing.JoinTokenExpires)
            {
                throw DeviceTrustException.AlreadyExists(existing.IsJoined
                    ? $"node {node.Name} exists already: remove it first with dtctl nodes rm {node.Name}"
                    : $"node {node.Name} is waiting to join with an earlier token: remove it first with dtctl nodes rm {node.Name}");
            }
        }
        // Tokens that expired unused hold names for nothing: dropped on the next write instead of piling up.
        var expired = state.State.Nodes.Values.Where(n => !n.IsJoined && now >= n.JoinTokenExpires).Select(n => n.Name).ToList();
        if (state.State.Nodes.Count - expired.Count >= MaxNodes)
        {
            throw DeviceTrustException.FailedPrecondition($"the cluster already has {MaxNodes} nodes: remove some first");
        }
        foreach (var name in expired)
        {
            state.State.Nodes.Remove(name);
        }
        state.State.Nodes[node.Name] = node;
        state.State.Version++;
        _joinedIds = null;
        await state.WriteOrDeactivateAsync(DeactivateOnIdle);
        return node;
    }

    public async Task<NodeRecord> JoinAsync(string name, byte[] joinTokenHash, NodeJoin join)
    {
        // One message for an unknown name and a wrong secret: the token is the proof, names are not secrets but
        // need not be confirmed to whoever guesses.
        if (!state.State.Nodes.TryGetValue(name, out var node) || node.JoinTokenHash is not { } stored
            || !CryptographicOperations.FixedTimeEquals(stored, joinTokenHash))
        {
            throw DeviceTrustException.PermissionDenied("invalid join token: unknown token");
        }
        if (node.IsJoined)
        {
            throw DeviceTrustException.PermissionDenied("invalid join token: already used (a node joins once: dtctl nodes rm, then dtctl nodes add again)");
        }
        var now = time.GetUtcNow();
        if (now >= node.JoinTokenExpires)
        {
            throw DeviceTrustException.PermissionDenied("invalid join token: expired (dtctl nodes rm, then dtctl nodes add again)");
        }
        var joined = node with { Joined = now, Address = join.Address, HostNames = join.HostNames, HostKeyFingerprint = join.HostKeyFingerprint };
        state.State.Nodes[name] = joined;
        state.State.Version++;
        _joinedIds = null;
        await state.WriteOrDeactivateAsync(DeactivateOnIdle);
        _lastSeen[joined.Id] = now;
        return joined;
    }

    public async Task<NodeRecord> RemoveAsync(string name)
    {
        if (!state.State.Nodes.Remove(name, out var removed))
        {
            throw DeviceTrustException.NotFound($"node {name} not found");
        }
        state.State.Version++;
        _joinedIds = null;
        await state.WriteOrDeactivateAsync(DeactivateOnIdle);
        _lastSeen.Remove(removed.Id);
        return removed;
    }

    public Task<bool> HeartbeatAsync(Guid id)
    {
        // A node's credential is checked against the gateway's snapshot before it gets here; this catches a removal
        // the snapshot has not seen yet.
        _joinedIds ??= state.State.Nodes.Values.Where(n => n.IsJoined).Select(n => n.Id).ToHashSet();
        if (!_joinedIds.Contains(id))
        {
            return Task.FromResult(false);
        }
        _lastSeen[id] = time.GetUtcNow();
        return Task.FromResult(true);
    }

    public Task<IReadOnlyList<NodeListing>> ListAsync() =>
        Task.FromResult<IReadOnlyList<NodeListing>>(state.State.Nodes.Values.OrderBy(n => n.Name, StringComparer.Ordinal)
            .Select(n => new NodeListing(n with { JoinTokenHash = null }, _lastSeen.TryGetValue(n.Id, out var seen) ? seen : null)).ToList());

    public Task<NodeSnapshot?> GetSnapshotIfChangedAsync(long knownVersion) =>
        Task.FromResult(knownVersion == state.State.Version
            ? null
            : new NodeSnapshot(state.State.Version, state.State.Nodes.Values.Where(n => n.IsJoined).Select(n => n with { JoinTokenHash = null }).ToList()));
}
