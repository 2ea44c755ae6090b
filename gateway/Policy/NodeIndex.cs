using DeviceTrust.Core.Nodes;

namespace DeviceTrust.Gateway.Policy;

/// <summary>The joined nodes of one snapshot, by id (a node's credential) and by name (what people ask about).</summary>
public sealed class NodeIndex(IReadOnlyList<NodeRecord> nodes)
{
    private readonly Dictionary<Guid, NodeRecord> _byId = nodes.ToDictionary(n => n.Id);
    private readonly Dictionary<string, NodeRecord> _byName = nodes.ToDictionary(n => n.Name, StringComparer.Ordinal);

    public NodeRecord? ById(Guid id) => _byId.GetValueOrDefault(id);

    public NodeRecord? ByName(string name) => _byName.GetValueOrDefault(name);
}
