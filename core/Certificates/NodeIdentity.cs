using System.Formats.Asn1;
using System.Security.Cryptography.X509Certificates;

namespace DeviceTrust.Core.Certificates;

/// <summary>
/// The node a node credential was issued to: a non-critical extension under our arc holding the node's id (DER
/// UTF8String). A certificate carrying it is a node's, never a user's, whatever its subject says.
/// </summary>
public static class NodeIdentity
{
    public const string NodeIdOid = DeviceExtensions.Arc + ".6";

    public static X509Extension ToX509(Guid nodeId)
    {
        var writer = new AsnWriter(AsnEncodingRules.DER);
        writer.WriteCharacterString(UniversalTagNumber.UTF8String, nodeId.ToString("D"));
        return new X509Extension(NodeIdOid, writer.Encode(), critical: false);
    }

    public static bool IsPresent(X509Certificate2 certificate) => certificate.Extensions[NodeIdOid] is not null;

    /// <summary>The node id, or null when the extension is missing or malformed.</summary>
    public static Guid? Read(X509Certificate2 certificate) =>
        Guid.TryParseExact(UserIdentity.ReadUtf8(certificate, NodeIdOid), "D", out var id) ? id : null;
}
