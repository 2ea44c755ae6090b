namespace DeviceTrust.Core.Nodes;

/// <summary>
/// An SSH node as the cluster knows it: made by <c>dtctl nodes add</c> (pending, with the hash of its join token),
/// then joined by <c>dtnode join</c> (its address, the names in its host certificate, its host key). The id is new
/// for every node, so a node removed and added again under the same name is a new node whose old credential is dead.
/// </summary>
public sealed record NodeRecord(
    Guid Id,
    string Name,
    IReadOnlyDictionary<string, string> Labels,
    DateTimeOffset Created,
    string CreatedBy,
    byte[]? JoinTokenHash,
    DateTimeOffset JoinTokenExpires,
    DateTimeOffset? Joined,
    string Address,
    IReadOnlyList<string> HostNames,
    string HostKeyFingerprint)
{
    public bool IsJoined => Joined is not null;

    public string Status(DateTimeOffset now) => IsJoined ? "joined" : now < JoinTokenExpires ? "pending" : "expired";
}

/// <summary>What a node says about itself when it joins, checked by the gateway.</summary>
public sealed record NodeJoin(string Address, IReadOnlyList<string> HostNames, string HostKeyFingerprint);
