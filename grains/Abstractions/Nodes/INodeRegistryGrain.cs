using DeviceTrust.Core.Nodes;

namespace DeviceTrust.Grains.Nodes;

/// <summary>
/// The cluster's SSH nodes (singleton): added by an operator with a one-time join token, joined by dtnode, removed.
/// Gateways keep a versioned snapshot and ask again only when the version changed, so no access decision and no
/// node call waits on this grain; heartbeats are the one frequent call, and they only touch memory.
/// </summary>
[Alias("dt.INodeRegistryGrain")]
public interface INodeRegistryGrain : IGrainWithStringKey
{
    /// <summary>A pending node with the hash of its join token. AlreadyExists when the name is taken.</summary>
    [Alias("Add")]
    Task<NodeRecord> AddAsync(NodeRecord node);

    /// <summary>Spends the join token (at most once, before it expires) and records what the node said about itself.</summary>
    [Alias("Join")]
    Task<NodeRecord> JoinAsync(string name, byte[] joinTokenHash, NodeJoin join);

    [Alias("Remove")]
    Task<NodeRecord> RemoveAsync(string name);

    /// <summary>The node is alive; false when it is no longer registered.</summary>
    [Alias("Heartbeat")]
    Task<bool> HeartbeatAsync(Guid id);

    /// <summary>Every node with its last heartbeat (null when none since this grain started).</summary>
    [Alias("List")]
    Task<IReadOnlyList<NodeListing>> ListAsync();

    /// <summary>The joined nodes, or null when the version is still <paramref name="knownVersion"/>.</summary>
    [Alias("GetSnapshotIfChanged")]
    Task<NodeSnapshot?> GetSnapshotIfChangedAsync(long knownVersion);
}

[GenerateSerializer, Immutable, Alias("dt.NodeListing")]
public sealed record NodeListing([property: Id(0)] NodeRecord Node, [property: Id(1)] DateTimeOffset? LastSeen);

[GenerateSerializer, Immutable, Alias("dt.NodeSnapshot")]
public sealed record NodeSnapshot([property: Id(0)] long Version, [property: Id(1)] IReadOnlyList<NodeRecord> Nodes);
