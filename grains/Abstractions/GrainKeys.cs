namespace DeviceTrust.Grains;

/// <summary>
/// The fixed keys of the cluster's singleton grains, and the purposes the CA keys are encrypted under: what a
/// caller must know to reach them, kept apart from the grain classes.
/// </summary>
public static class GrainKeys
{
    /// <summary>The one cluster configuration, role registry, lock registry and node registry.</summary>
    public const string Cluster = "cluster";

    /// <summary>The X.509 CA that signs user certificates and the gateways' TLS certificates.</summary>
    public const string UserCa = "user";

    /// <summary>The SSH CA that signs user certificates, which nodes trust through <c>TrustedUserCAKeys</c>.</summary>
    public const string SshUserCa = "user";

    /// <summary>The SSH CA that signs host certificates, which clients trust through an <c>@cert-authority</c> known_hosts line.</summary>
    public const string SshHostCa = "host";

    /// <summary>The master-key purpose an X.509 CA's private key is encrypted under.</summary>
    public static string CaKeyPurpose(string caName) => $"ca/{caName}";

    /// <summary>The master-key purpose an SSH CA's private key is encrypted under.</summary>
    public static string SshCaKeyPurpose(string caName) => $"ssh-ca/{caName}";
}
