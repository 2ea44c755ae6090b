using DeviceTrust.Core.Access;
using DeviceTrust.Core.Audit;
using DeviceTrust.Core.Certificates;
using DeviceTrust.Core.Devices;
using DeviceTrust.Core.Errors;
using DeviceTrust.Core.Roles;
using DeviceTrust.Core.Users;
using DeviceTrust.Gateway.Audit;
using DeviceTrust.Gateway.Authentication;
using DeviceTrust.Gateway.Policy;
using DeviceTrust.Grains.Inventory;
using DeviceTrust.Grains.Users;
using DeviceTrust.Proto.V1;
using Grpc.Core;
using WireDecision = DeviceTrust.Proto.V1.AccessDecision;
using WireResource = DeviceTrust.Proto.V1.AccessResource;

namespace DeviceTrust.Gateway.Services;

/// <summary>
/// Access decisions about others: a proxy asks about the certificate its client presented; an administrator asks
/// "what if" about a user by name (<c>dtctl access check</c>), optionally from one of their devices.
/// </summary>
public sealed class AccessGrpcService(
    AccessChecker checker, CertificateUsers certificates, PresentedCertificates presented, IdentityCache identities, IGrainFactory grains)
    : AccessService.AccessServiceBase
{
    [Requires(Resources.Access, "read")]
    [Audited(AuditCodes.AccessCheck, Reads = true)]
    public override async Task<WireDecision> CheckAccess(CheckAccessRequest request, ServerCallContext context)
    {
        var resource = Resource(request.Resource);
        Caller subject;
        switch (request.SubjectCase)
        {
            case CheckAccessRequest.SubjectOneofCase.X509Der:
                if (request.X509Der.Length is 0 or > 8192)
                {
                    throw DeviceTrustException.InvalidArgument("x509_der must be a DER certificate of at most 8 KiB");
                }
                var certificate = presented.Get(request.X509Der.Span, () =>
                {
                    try
                    {
                        return System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadCertificate(request.X509Der.Span);
                    }
                    catch (System.Security.Cryptography.CryptographicException)
                    {
                        throw DeviceTrustException.InvalidArgument("x509_der is not a DER certificate");
                    }
                });
                subject = await certificates.ResolveAsync(certificate, verifyChain: true, whose: "the presented");
                break;
            case CheckAccessRequest.SubjectOneofCase.User:
                var name = UserName.Validate(request.User);
                var user = await grains.GetGrain<IUserGrain>(name).GetAsync() ?? throw DeviceTrustException.NotFound($"user \"{name}\" not found");
                var device = request.DeviceId.Length == 0 ? null : await WhatIfDeviceAsync(request.DeviceId, user);
                subject = new Caller(user, Caller.Of(context).Certificate, device);
                break;
            default:
                throw DeviceTrustException.InvalidArgument("say whose access to check: x509_der or user");
        }
        var decision = await checker.DecideAsync(subject.User, subject.Device, await checker.WithNodeLabelsAsync(resource, required: false),
            ClientAddress.Of(context));
        return ToProto(decision, subject);
    }

    [AnyUser]
    [Audited(AuditCodes.AccessCheckMine, Reads = true)]
    public override async Task<WireDecision> CheckMyAccess(CheckMyAccessRequest request, ServerCallContext context)
    {
        var caller = Caller.Of(context);
        var resource = await checker.WithNodeLabelsAsync(Resource(request.Resource), required: true);
        var answer = ToProto(await checker.DecideAsync(caller.User, caller.Device, resource, ClientAddress.Of(context)), caller);
        if (resource.Kind == ResourceKind.Ssh)
        {
            answer.Address = (await identities.NodesAsync()).ByName(resource.Name)?.Address ?? "";
        }
        return answer;
    }

    private static WireDecision ToProto(Core.Access.AccessDecision decision, Caller subject)
    {
        var answer = new WireDecision
        {
            Allowed = decision.Allowed,
            Mode = Core.Config.DeviceTrustModes.ToText(decision.Mode),
            ModeSource = decision.ModeSource,
            TrustedDevice = decision.TrustedDevice,
            User = subject.User.Name,
            DeviceId = subject.Device?.DeviceId ?? "",
        };
        answer.Reasons.AddRange(decision.Reasons);
        answer.MatchedRoles.AddRange(decision.MatchedRoles);
        answer.Locks.AddRange(decision.Locks.Select(l => l.Id));
        return answer;
    }

    /// <summary>"As if from this device": the claim a certificate from its authentication would carry.</summary>
    private async Task<DeviceExtensions> WhatIfDeviceAsync(string deviceId, UserView user)
    {
        var record = await grains.GetGrain<IDeviceGrain>(DeviceFields.DeviceId(deviceId)).GetAsync() ?? throw DeviceTrustException.NotFound("device not found");
        return new DeviceExtensions(record.Id.ToString(), record.AssetTag, record.Credential?.Id ?? "");
    }

    /// <summary>A resource from the wire, bounded: names and labels are printable, at most 64 labels.</summary>
    public static Core.Access.AccessResource Resource(WireResource? resource)
    {
        if (resource is null)
        {
            throw DeviceTrustException.InvalidArgument("resource is required");
        }
        var kind = ResourceKinds.Parse(resource.Kind);
        var name = DeviceFields.Text(resource.Name, "resource.name");
        if (name.Length == 0)
        {
            throw DeviceTrustException.InvalidArgument("resource.name is required");
        }
        if (resource.Labels.Count > 64)
        {
            throw DeviceTrustException.InvalidArgument("resource.labels has more than 64 entries");
        }
        var labels = resource.Labels.ToDictionary(l => DeviceFields.Text(l.Key, "resource.labels"), l => DeviceFields.Text(l.Value, "resource.labels"),
            StringComparer.Ordinal);
        var login = DeviceFields.Text(resource.Login, "resource.login");
        if (kind == ResourceKind.Ssh && login.Length == 0)
        {
            throw DeviceTrustException.InvalidArgument("resource.login is required for ssh");
        }
        return new Core.Access.AccessResource(kind, name, labels, login);
    }
}
