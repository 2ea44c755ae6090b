using System.Diagnostics.Metrics;
using DeviceTrust.Core.Access;
using DeviceTrust.Core.Audit;
using DeviceTrust.Core.Certificates;
using DeviceTrust.Gateway.Audit;
using DeviceTrust.Grains.Users;
using Grpc.Core;

namespace DeviceTrust.Gateway.Policy;

/// <summary>
/// Answers access decisions from this gateway's snapshots — roles, cluster config and locks (versioned, at most a few
/// seconds old) and the live state of the device the certificate names — with no call into a singleton grain. Every
/// decision is counted; allows and denies are audited sampled (one per user, device, resource and reason per window).
/// </summary>
public sealed class AccessChecker
{
    private readonly IdentityCache _identities;
    private readonly DeviceStates _devices;
    private readonly SampledAudit _audit;
    private readonly TimeProvider _time;
    private readonly Counter<long> _decisions;

    public AccessChecker(IdentityCache identities, DeviceStates devices, SampledAudit audit, TimeProvider time, IMeterFactory meters)
    {
        _identities = identities;
        _devices = devices;
        _audit = audit;
        _time = time;
        _decisions = meters.Create(Silo.Hosting.Telemetry.SourceName).CreateCounter<long>("devicetrust.access.decisions",
            description: "Access decisions, by result and kind of resource");
    }

    /// <summary>The decision for <paramref name="user"/> (live) with the certificate that names <paramref name="claim"/>, if any.</summary>
    public async ValueTask<AccessDecision> DecideAsync(UserView user, DeviceExtensions? claim, AccessResource resource, string clientIp)
    {
        var now = _time.GetUtcNow();
        var roles = await _identities.RolesAsync(user.Roles);
        var config = (await _identities.ConfigAsync()).DeviceTrust;
        DeviceEvidence? device = null;
        if (claim is not null && Guid.TryParseExact(claim.DeviceId, "D", out var deviceId))
        {
            device = new DeviceEvidence(claim.DeviceId, claim.AssetTag, claim.CredentialId, await _devices.GetAsync(deviceId));
        }
        var locks = (await _identities.LocksAsync()).Against(user.Id.ToString(), user.Roles, device?.DeviceId, now);
        var decision = AccessRules.Decide(new AccessSubject(user.Id.ToString(), user.Name, user.Kind, roles), device, config.Mode, locks, resource, now);
        _decisions.Add(1, new KeyValuePair<string, object?>("result", decision.Allowed ? "allow" : "deny"),
            new KeyValuePair<string, object?>("kind", resource.Kind.ToText()));
        await _audit.RecordAsync(decision.Allowed ? AuditCodes.AccessAllow : AuditCodes.AccessDeny, clientIp, user.Name,
            decision.Allowed ? StatusCode.OK : StatusCode.PermissionDenied,
            decision.Allowed ? $"{resource.Describe()} allowed ({decision.Mode.ToString().ToLowerInvariant()}, {decision.ModeSource})" : decision.Reason,
            resource.Kind.ToText() + "/" + resource.Name, decision.Allowed, device?.DeviceId ?? "");
        return decision;
    }

    /// <summary>
    /// An SSH node's labels are the cluster's, not the asker's. For the caller's own access they always come from the
    /// registry (an unknown node is NotFound); for "what if" when the request gives none and the node is registered.
    /// </summary>
    public async ValueTask<AccessResource> WithNodeLabelsAsync(AccessResource resource, bool required)
    {
        if (resource.Kind != ResourceKind.Ssh || (!required && resource.Labels.Count > 0))
        {
            return resource;
        }
        var node = (await _identities.NodesAsync()).ByName(resource.Name);
        if (node is null)
        {
            return required ? throw Core.Errors.DeviceTrustException.NotFound($"node {resource.Name} not found (dtsh ls lists the nodes)") : resource;
        }
        return resource with { Labels = node.Labels };
    }

    /// <summary>A refusal before any decision could be made (a certificate of another CA, an expired one): counted and audited like a deny.</summary>
    public async ValueTask RefuseAsync(string user, AccessResource resource, string reason, string clientIp, string deviceId = "")
    {
        _decisions.Add(1, new KeyValuePair<string, object?>("result", "deny"), new KeyValuePair<string, object?>("kind", resource.Kind.ToText()));
        await _audit.RecordAsync(AuditCodes.AccessDeny, clientIp, user, StatusCode.PermissionDenied, reason, resource.Kind.ToText() + "/" + resource.Name,
            false, deviceId);
    }
}
