using DeviceTrust.Core.Access;
using DeviceTrust.Core.Audit;
using DeviceTrust.Core.Certificates;
using DeviceTrust.Core.Errors;
using DeviceTrust.Core.Nodes;
using DeviceTrust.Core.Roles;
using DeviceTrust.Core.Secrets;
using DeviceTrust.Core.Ssh;
using DeviceTrust.Gateway.Audit;
using DeviceTrust.Gateway.Authentication;
using DeviceTrust.Gateway.Hosting;
using DeviceTrust.Gateway.Policy;
using DeviceTrust.Grains;
using DeviceTrust.Grains.Nodes;
using DeviceTrust.Proto.V1;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.AspNetCore.Authorization;
using WireNode = DeviceTrust.Proto.V1.Node;

namespace DeviceTrust.Gateway.Services;

/// <summary>
/// SSH nodes: an operator adds one and gets a one-time join token; dtnode joins with it and gets the node's own
/// credential and host certificate; from then on the node reports that it is alive and asks, for every SSH login,
/// whether the user certificate sshd received may log in. A node credential can do nothing else.
/// </summary>
public sealed class NodeGrpcService(
    IGrainFactory grains,
    ClusterAuthority authority,
    IdentityCache identities,
    CertificateUsers certificates,
    AccessChecker checker,
    RateLimits limits,
    AuditRecorder audit,
    SampledAudit refusals,
    GatewayOptions options,
    TimeProvider time) : NodeService.NodeServiceBase
{
    private static readonly TimeSpan DefaultJoinTtl = TimeSpan.FromMinutes(30);
    private static readonly TimeSpan MaxJoinTtl = TimeSpan.FromDays(7);

    private INodeRegistryGrain Registry => grains.GetGrain<INodeRegistryGrain>(GrainKeys.Cluster);

    [Requires(Resources.Node, "create")]
    [Audited(AuditCodes.NodeCreate)]
    public override async Task<CreateNodeResponse> CreateNode(CreateNodeRequest request, ServerCallContext context)
    {
        var caller = Caller.Of(context);
        var record = context.Audit();
        var name = NodeName.Validate(request.Name);
        record.Target = "node/" + name;
        var labels = NodeLabels.Validate(request.Labels);
        var ttl = ProtoMapping.Ttl(request.Ttl, DefaultJoinTtl, MaxJoinTtl, "ttl");
        var now = time.GetUtcNow();
        var secret = SecretToken.New();
        var node = await Registry.AddAsync(new NodeRecord(Guid.NewGuid(), name, labels, now, caller.Name, SecretToken.Hash(secret), now + ttl, null, "", [],
            ""));
        record.Detail("node_id", node.Id).Detail("labels", labels).Detail("expires", node.JoinTokenExpires);
        record.Message = $"node {name} added with labels {NodeLabels.Format(labels)}; join token valid until {node.JoinTokenExpires:u}";
        return new CreateNodeResponse
        {
            Node = ToProto(node, null, []),
            JoinToken = new NodeJoinToken(name, secret, authority.Ca.Pin).Encode(),
            Expires = Timestamp.FromDateTimeOffset(node.JoinTokenExpires),
        };
    }

    [Requires(Resources.Node, "list")]
    [Audited(AuditCodes.NodeList, Reads = true)]
    public override async Task<ListNodesResponse> ListNodes(ListNodesRequest request, ServerCallContext context)
    {
        var caller = Caller.Of(context);
        var name = request.Name.Length == 0 ? null : NodeName.Validate(request.Name);
        var roles = await identities.RolesAsync(caller.User.Roles);
        var response = new ListNodesResponse();
        foreach (var listing in await Registry.ListAsync())
        {
            if (name is null || listing.Node.Name == name)
            {
                response.Nodes.Add(ToProto(listing.Node, listing.LastSeen, AccessRules.LoginsOn(roles, listing.Node.Labels)));
            }
        }
        return response;
    }

    [Requires(Resources.Node, "delete")]
    [Audited(AuditCodes.NodeDelete)]
    public override async Task<DeleteNodeResponse> DeleteNode(DeleteNodeRequest request, ServerCallContext context)
    {
        var record = context.Audit();
        var name = NodeName.Validate(request.Name);
        record.Target = "node/" + name;
        var removed = await Registry.RemoveAsync(name);
        identities.InvalidateNodes();
        record.Detail("node_id", removed.Id);
        record.Message = $"node {name} removed: its credential no longer works";
        return new DeleteNodeResponse { Node = ToProto(removed, null, []) };
    }

    [AllowAnonymous]
    [Audited(AuditCodes.NodeJoin, BySelf = true)]
    public override async Task<JoinNodeResponse> JoinNode(JoinNodeRequest request, ServerCallContext context)
    {
        var record = audit.Begin(AuditCodes.NodeJoin, context, "");
        return await AuditedCall.RunAsync(record, refusals, async () =>
        {
            // Guessing a token costs the same bucket as guessing a password.
            limits.Admit(nameof(RateLimitsOptions.LoginPerAddress), ClientAddress.LimitKey(context.GetHttpContext().Connection.RemoteIpAddress),
                "join attempts from your address");
            var token = NodeJoinToken.Decode(request.JoinToken);
            record.Target = "node/" + token.Node;
            var publicKey = CertificateAuthority.ParseUserPublicKey(request.PublicKey.Span);
            SshPublicKey hostKey;
            try
            {
                hostKey = SshPublicKey.ParseLine(request.SshHostKey);
            }
            catch (SshFormatException e)
            {
                throw DeviceTrustException.InvalidArgument("ssh_host_key is not an OpenSSH public key line: " + e.Message);
            }
            var (host, port) = NodeAddress.Parse(request.Address, "address");
            var hostNames = NodeAddress.HostNames(request.HostNames.Append(host));
            var joined = await Registry.JoinAsync(token.Node, SecretToken.Hash(token.Secret),
                new NodeJoin(NodeAddress.Format(host, port), hostNames, hostKey.Fingerprint));
            identities.InvalidateNodes();
            var now = time.GetUtcNow();
            var credential = authority.Ca.IssueNodeCertificate(publicKey, joined.Name, joined.Id, now, now + options.NodeCredentialLifetime);
            var end = credential.NotAfter;
            var hostCertificate = authority.SshHosts.Issue(SshIdentity.HostCertificate(hostKey, joined.Name, hostNames, now, end));
            record.Detail("node_id", joined.Id).Detail("address", joined.Address).Detail("host_names", hostNames)
                .Detail("host_key", hostKey.Fingerprint).Detail("expires", end);
            await record.SucceededAsync($"node {joined.Name} joined from {record.ClientIp}: reachable at {joined.Address}, host key {hostKey.Fingerprint}");
            return new JoinNodeResponse
            {
                NodeId = joined.Id.ToString(),
                NodeName = joined.Name,
                ClusterName = authority.ClusterName,
                CertificateDer = ByteString.CopyFrom(credential.Der),
                CaCertificateDer = ByteString.CopyFrom(authority.Ca.Certificate.RawData),
                SshHostCertificate = ByteString.CopyFrom(hostCertificate.Blob),
                SshUserCa = authority.SshUserCaLines.First(),
                Trust = Trust(),
            };
        });
    }

    private NodeTrust Trust()
    {
        var trust = new NodeTrust { SshUserCas = { authority.SshUserCaLines } };
        trust.CaCertificatesDer.AddRange(authority.TrustedCas.Select(ca => ByteString.CopyFrom(ca.RawData)));
        return trust;
    }

    [NodeOnly]
    [Audited(AuditCodes.NodeHeartbeat, Reads = true)]
    public override async Task<HeartbeatResponse> Heartbeat(HeartbeatRequest request, ServerCallContext context)
    {
        var node = NodeCaller.Of(context);
        if (!await Registry.HeartbeatAsync(node.Node.Id))
        {
            identities.InvalidateNodes();
            throw DeviceTrustException.Unauthenticated("the node of this credential is no longer registered: join it again (dtctl nodes add, dtnode join)");
        }
        var response = new HeartbeatResponse { Interval = Duration.FromTimeSpan(options.NodeHeartbeatInterval), Trust = Trust() };
        var now = time.GetUtcNow();
        // A credential from a CA that no longer signs (a rotation switched): the same key, certified by the current one,
        // with the lifetime a join gives, so the node keeps working once the old CA is dropped. Audited: it is a new credential.
        // The handshake already checked the chain to a trusted CA, and every CA has a name of its own, so the issuer's
        // name tells which one signed it without building the chain again on every heartbeat.
        if (!node.Certificate.IssuerName.RawData.AsSpan().SequenceEqual(authority.Ca.Certificate.SubjectName.RawData))
        {
            var renewed = authority.Ca.IssueNodeCertificate(node.Certificate.PublicKey, node.Name, node.Node.Id, now, now + options.NodeCredentialLifetime);
            var record = Renewal(context, node);
            record.Detail("expires", renewed.NotAfter);
            await record.SucceededAsync($"node {node.Name}: credential renewed under the current cluster CA {authority.Ca.Pin} (a CA rotation switched)");
            response.RenewedCertificateDer = ByteString.CopyFrom(renewed.Der);
        }
        if (request.SshHostCa.Length > 0 && request.SshHostCa != authority.SshHosts.PublicKey.Fingerprint && request.SshHostKey.Length > 0)
        {
            response.RenewedSshHostCertificate = await RenewHostCertificateAsync(context, node, request.SshHostKey, now);
        }
        return response;
    }

    private Audit.AuditRecord Renewal(ServerCallContext context, NodeCaller node)
    {
        var record = audit.Begin(AuditCodes.NodeRenew, context, node.AuditName);
        record.Target = "node/" + node.Name;
        record.Detail("node_id", node.Node.Id);
        return record;
    }

    /// <summary>
    /// A host certificate from the signing SSH host CA for the host key the node joined with, for the names it joined
    /// with; empty (and a refusal audited) when the node reports another host key, so the heartbeat itself still counts.
    /// </summary>
    private async Task<ByteString> RenewHostCertificateAsync(ServerCallContext context, NodeCaller node, string hostKeyLine, DateTimeOffset now)
    {
        var record = Renewal(context, node);
        SshPublicKey hostKey;
        try
        {
            hostKey = SshPublicKey.ParseLine(hostKeyLine);
        }
        catch (SshFormatException e)
        {
            await record.FailedAsync("host certificate not renewed: ssh_host_key is not an OpenSSH public key line: " + e.Message, StatusCode.InvalidArgument);
            return ByteString.Empty;
        }
        if (hostKey.Fingerprint != node.Node.HostKeyFingerprint)
        {
            await record.FailedAsync($"host certificate not renewed: host key {hostKey.Fingerprint} is not the one node {node.Name} joined with ({node.Node.HostKeyFingerprint})",
                StatusCode.PermissionDenied);
            return ByteString.Empty;
        }
        var host = authority.SshHosts.Issue(SshIdentity.HostCertificate(hostKey, node.Name, node.Node.HostNames, now, now + options.NodeCredentialLifetime));
        record.Detail("host_key", hostKey.Fingerprint).Detail("expires", now + options.NodeCredentialLifetime);
        await record.SucceededAsync($"node {node.Name}: host certificate renewed under the current SSH host CA {authority.SshHosts.PublicKey.Fingerprint}");
        return ByteString.CopyFrom(host.Blob);
    }

    /// <summary>
    /// The question sshd's AuthorizedPrincipalsCommand asks through dtnode. sshd has checked the certificate against
    /// TrustedUserCAKeys, but the node is not trusted to have done so: the signature, kind and validity are checked
    /// again here, then the user (live, same id and generation), then the access decision for this node and login.
    /// A no is an answer (allowed = false, with the reason), not an error, so the node can tell it from a failure.
    /// </summary>
    [NodeOnly]
    [Audited(AuditCodes.NodeAuthorize, Reads = true)]
    public override async Task<AuthorizeSshResponse> AuthorizeSsh(AuthorizeSshRequest request, ServerCallContext context)
    {
        var node = NodeCaller.Of(context);
        if (!RoleYaml.IsLogin(request.Login) || request.Login == "*")
        {
            throw DeviceTrustException.InvalidArgument("login must be a Unix user name");
        }
        if (request.Certificate.Length is 0 or > SshCertificate.MaxBytes)
        {
            throw DeviceTrustException.InvalidArgument($"certificate must be an OpenSSH certificate of at most {SshCertificate.MaxBytes} bytes");
        }
        SshCertificate certificate;
        try
        {
            certificate = SshCertificate.Parse(request.Certificate.Span);
        }
        catch (SshFormatException e)
        {
            throw DeviceTrustException.InvalidArgument("certificate is not an OpenSSH certificate: " + e.Message);
        }
        var resource = new Core.Access.AccessResource(ResourceKind.Ssh, node.Name, node.Node.Labels, request.Login);
        var clientIp = ClientAddress.Of(context);
        var presented = SshIdentity.ReadUser(certificate);
        var claimedDevice = SshIdentity.ReadDevice(certificate);
        async Task<AuthorizeSshResponse> RefuseAsync(string reason)
        {
            await checker.RefuseAsync(presented?.User ?? certificate.KeyId, resource, reason, clientIp, claimedDevice?.DeviceId ?? "");
            return new AuthorizeSshResponse { Allowed = false, Reasons = { reason }, User = presented?.User ?? "" };
        }
        if (!authority.TrustedSshUsers.Any(certificate.IsSignedBy))
        {
            return await RefuseAsync("the certificate was not issued by this cluster's SSH user CA");
        }
        if (certificate.Type != SshCertificateType.User || presented is not { } who)
        {
            return await RefuseAsync("the certificate is not a user certificate of this cluster");
        }
        if (!certificate.IsValidAt(time.GetUtcNow()))
        {
            return await RefuseAsync("the certificate has expired or is not valid yet: log in again with dtsh login");
        }
        Grains.Users.UserView user;
        try
        {
            user = await certificates.LiveUserAsync(who.User, who.Identity, "the presented");
        }
        catch (DeviceTrustException e) when (e.Kind == ErrorKind.Unauthenticated)
        {
            return await RefuseAsync(e.Message);
        }
        var decision = await checker.DecideAsync(user, claimedDevice, resource, clientIp);
        var response = new AuthorizeSshResponse { User = user.Name };
        if (!decision.Allowed)
        {
            response.Reasons.AddRange(decision.Reasons);
            return response;
        }
        // The login must also be one the certificate names: sshd compares what we print with its principals.
        var principal = certificate.Principals.Contains(request.Login) ? request.Login : certificate.Principals.Contains("*") ? "*" : null;
        if (principal is null)
        {
            return await RefuseAsync($"the certificate does not name the login {request.Login} (your roles changed since you logged in): log in again with dtsh login");
        }
        response.Allowed = true;
        response.Principal = principal;
        return response;
    }

    private WireNode ToProto(NodeRecord node, DateTimeOffset? lastSeen, IEnumerable<string> logins)
    {
        var wire = new WireNode
        {
            Id = node.Id.ToString(),
            Name = node.Name,
            Status = node.Status(time.GetUtcNow()),
            Address = node.Address,
            Created = Timestamp.FromDateTimeOffset(node.Created),
            CreatedBy = node.CreatedBy,
            Joined = node.Joined is { } joined ? Timestamp.FromDateTimeOffset(joined) : null,
            LastSeen = lastSeen is { } seen ? Timestamp.FromDateTimeOffset(seen) : null,
            HostKeyFingerprint = node.HostKeyFingerprint,
        };
        foreach (var (key, value) in node.Labels)
        {
            wire.Labels[key] = value;
        }
        wire.HostNames.AddRange(node.HostNames);
        wire.Logins.AddRange(logins);
        return wire;
    }
}
