using DeviceTrust.Core.Errors;

namespace DeviceTrust.Core.Access;

/// <summary>What can be protected. The cluster-wide device trust mode covers SSH, databases and Kubernetes; apps and
/// desktops follow roles only.</summary>
public enum ResourceKind
{
    Ssh,
    App,
    Db,
    Kube,
    Desktop,
}

public static class ResourceKinds
{
    public static string ToText(this ResourceKind kind) => kind switch
    {
        ResourceKind.Ssh => "ssh",
        ResourceKind.App => "app",
        ResourceKind.Db => "db",
        ResourceKind.Kube => "kube",
        ResourceKind.Desktop => "desktop",
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    public static ResourceKind Parse(string? text) => text switch
    {
        "ssh" => ResourceKind.Ssh,
        "app" => ResourceKind.App,
        "db" => ResourceKind.Db,
        "kube" => ResourceKind.Kube,
        "desktop" => ResourceKind.Desktop,
        _ => throw DeviceTrustException.InvalidArgument($"unknown resource kind \"{text}\": use ssh, app, db, kube or desktop"),
    };

    /// <summary>The kinds the cluster-wide mode covers (DESIGN.md, "Enforcement").</summary>
    public static bool FollowsClusterMode(this ResourceKind kind) => kind is ResourceKind.Ssh or ResourceKind.Db or ResourceKind.Kube;

    /// <summary>The role field that lists the labels of this kind a role reaches.</summary>
    public static string LabelsField(this ResourceKind kind) => kind switch
    {
        ResourceKind.Ssh => "node_labels",
        _ => kind.ToText() + "_labels",
    };
}

/// <summary>
/// One thing someone asks to reach: an SSH node (with the login asked for), an app, a database, a cluster, a desktop.
/// </summary>
public sealed record AccessResource(ResourceKind Kind, string Name, IReadOnlyDictionary<string, string> Labels, string Login = "")
{
    /// <summary>How people name it in messages: <c>root@web-1</c> for SSH, <c>app grafana</c> otherwise.</summary>
    public string Describe() => Kind == ResourceKind.Ssh ? $"{Login}@{Name}" : $"{Kind.ToText()} {Name}";
}
