using System.Collections.Frozen;

namespace DeviceTrust.Core.Roles;

/// <summary>The resources role rules can name, and the verbs each one has. "*" stands for all of either.</summary>
public static class Resources
{
    public const string Wildcard = "*";
    public const string User = "user";
    public const string Role = "role";
    public const string ClusterConfig = "cluster_config";
    public const string Device = "device";
    public const string Lock = "lock";
    public const string Audit = "audit";

    /// <summary>SSH nodes: adding one (a join token), listing, removing.</summary>
    public const string Node = "node";

    /// <summary>Access decisions about others: proxies asking about their clients, administrators asking "what if".</summary>
    public const string Access = "access";

    private static readonly string[] Crud = ["list", "read", "create", "update", "delete"];

    public static FrozenDictionary<string, string[]> Verbs { get; } = new Dictionary<string, string[]>
    {
        [User] = Crud,
        [Role] = Crud,
        [ClusterConfig] = ["read", "update"],
        [Device] = [.. Crud, "create_enroll_token", "enroll"],
        [Lock] = Crud,
        [Audit] = ["list", "read"],
        [Access] = ["read"],
        [Node] = ["list", "create", "delete"],
    }.ToFrozenDictionary(StringComparer.Ordinal);
}
