using System.Text.Json;
using System.Text.Json.Serialization;
using DeviceTrust.Core.Secrets;

namespace DeviceTrust.Cli.Dtnode;

/// <summary>
/// What <c>dtnode join</c> leaves in the data directory (0700, root): node.json (this), key.pem (the credential's
/// key, 0600), cert.pem (the credential), ca.pem (the cluster CA), user-ca.pub (for sshd's TrustedUserCAKeys) and
/// the host certificate. The agent reads them at start.
/// </summary>
public sealed record NodeConfig(
    string Proxy,
    string ClusterName,
    string NodeId,
    string NodeName,
    string Socket,
    string PrincipalsUser,
    string HostKey,
    string HostCertificate)
{
    public const string FileName = "node.json";
    public const string KeyFile = "key.pem";
    public const string CertificateFile = "cert.pem";
    public const string CaFile = "ca.pem";
    public const string UserCaFile = "user-ca.pub";

    public static NodeConfig Load(string dataDir)
    {
        var path = Path.Combine(dataDir, FileName);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"{path} does not exist: join this node first (dtnode join)");
        }
        return JsonSerializer.Deserialize(File.ReadAllText(path), NodeConfigJson.Default.NodeConfig)
               ?? throw new InvalidDataException($"{path} is empty");
    }

    public void Save(string dataDir) =>
        SecureFile.WriteAllText(Path.Combine(dataDir, FileName), JsonSerializer.Serialize(this, NodeConfigJson.Default.NodeConfig));
}

[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(NodeConfig))]
internal sealed partial class NodeConfigJson : JsonSerializerContext;
