using Grpc.AspNetCore.Server;
using Microsoft.AspNetCore.Authorization;

namespace DeviceTrust.Gateway.Authentication;

/// <summary>
/// Checked when the gateway starts: every RPC of ours says who may call it ([Requires], [AnyUser], [AllowAnonymous]
/// or [NodeOnly], exactly one) and under which audit code it is recorded ([Audited]). A new RPC without these
/// decisions stops the start instead of shipping open or silent.
/// </summary>
public static class RpcContract
{
    public static void Check(IEnumerable<EndpointDataSource> sources)
    {
        var problems = new List<string>();
        foreach (var endpoint in sources.SelectMany(s => s.Endpoints))
        {
            if (endpoint.Metadata.GetMetadata<GrpcMethodMetadata>() is not { } grpc || grpc.ServiceType.Assembly != typeof(RpcContract).Assembly)
            {
                continue;
            }
            var decisions = new object?[]
            {
                endpoint.Metadata.GetMetadata<RequiresAttribute>(),
                endpoint.Metadata.GetMetadata<AnyUserAttribute>(),
                endpoint.Metadata.GetMetadata<IAllowAnonymous>(),
                endpoint.Metadata.GetMetadata<NodeOnlyAttribute>(),
            }.Count(d => d is not null);
            if (decisions != 1)
            {
                problems.Add($"{grpc.Method.FullName} must have exactly one of [Requires], [AnyUser], [AllowAnonymous], [NodeOnly] (has {decisions})");
            }
            if (endpoint.Metadata.GetMetadata<AuditedAttribute>() is not { Code.Length: > 0 })
            {
                problems.Add($"{grpc.Method.FullName} has no [Audited] code");
            }
        }
        if (problems.Count > 0)
        {
            throw new InvalidOperationException("RPCs without an authorization or audit decision:\n  " + string.Join("\n  ", problems));
        }
    }
}
