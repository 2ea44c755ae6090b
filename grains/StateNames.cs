namespace DeviceTrust.Grains;

/// <summary>
/// Names of persisted grain states. The storage row is identified by this name and the grain key (not the grain
/// class), so each must be unique, and renaming one orphans stored data.
/// </summary>
public static class StateNames
{
    public const string Storage = "devicetrust";
    public const string User = "user";
    public const string Roles = "roles";
    public const string ClusterConfig = "cluster-config";
    public const string CertificateAuthority = "certificate-authority";
    public const string Device = "device";
    public const string AssetTag = "asset-tag";
    public const string EnrollToken = "enroll-token";
    public const string Locks = "locks";
    public const string SshAuthority = "ssh-authority";
    public const string Nodes = "nodes";
    public const string WebSession = "web-session";
    public const string DeviceWebToken = "device-web-token";
}
