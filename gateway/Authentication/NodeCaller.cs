using System.Security.Cryptography.X509Certificates;
using DeviceTrust.Core.Nodes;
using Grpc.Core;

namespace DeviceTrust.Gateway.Authentication;

/// <summary>An SSH node calling with its own credential, resolved to the node as the cluster knows it now.</summary>
public sealed record NodeCaller(NodeRecord Node, X509Certificate2 Certificate)
{
    public string Name => Node.Name;

    /// <summary>How a node appears where the audit log names who acted.</summary>
    public string AuditName => "node:" + Node.Name;

    public static NodeCaller Of(ServerCallContext context) =>
        context.GetHttpContext().Items[typeof(NodeCaller)] as NodeCaller
        ?? throw new InvalidOperationException("no authenticated node: the RPC is not [NodeOnly] or the interceptor did not run");
}

/// <summary>
/// The RPC is for SSH nodes only, with their own credential: a node may report that it is alive and ask about
/// access to itself, nothing else, and no user certificate may call these.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class NodeOnlyAttribute : Attribute;
