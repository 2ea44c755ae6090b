using DeviceTrust.Core.Audit;
using DeviceTrust.Core.Roles;
using DeviceTrust.Gateway.Audit;
using DeviceTrust.Gateway.Authentication;
using DeviceTrust.Gateway.Policy;
using DeviceTrust.Grains.Config;
using DeviceTrust.Proto.V1;
using Grpc.Core;

namespace DeviceTrust.Gateway.Services;

public sealed class ClusterConfigGrpcService(IGrainFactory grains, IdentityCache identities) : ClusterConfigService.ClusterConfigServiceBase
{
    private IClusterConfigGrain Config => grains.GetGrain<IClusterConfigGrain>(ClusterConfigGrain.Key);

    [Requires(Resources.ClusterConfig, "read")]
    [Audited(AuditCodes.ConfigGet, Reads = true)]
    public override async Task<ClusterConfig> GetClusterConfig(GetClusterConfigRequest request, ServerCallContext context) =>
        ToProto(await Config.GetAsync());

    [Requires(Resources.ClusterConfig, "update")]
    [Audited(AuditCodes.ConfigUpdate)]
    public override async Task<ClusterConfig> UpdateDeviceTrustConfig(UpdateDeviceTrustConfigRequest request, ServerCallContext context)
    {
        var audit = context.Audit();
        audit.Target = "cluster_config";
        if (request.EkcertAllowedCas.Count > 32 || request.EkcertAllowedCas.Any(pem => pem.Length > 16 * 1024))
        {
            throw Core.Errors.DeviceTrustException.InvalidArgument("at most 32 EK CAs of at most 16 KiB each");
        }
        // The grain validates every value before it writes any: a bad one changes nothing.
        var change = await Config.UpdateDeviceTrustAsync(
            request.HasMode ? request.Mode : null,
            request.HasAutoEnroll ? request.AutoEnroll : null,
            request.SetEkcertAllowedCas ? request.EkcertAllowedCas.ToList() : null,
            request.HasMinAttestation ? request.MinAttestation : null,
            request.HasAllowSha1Signatures ? request.AllowSha1Signatures : null);
        identities.InvalidateConfig();
        var (before, after) = (change.Before.DeviceTrust, change.After.DeviceTrust);
        audit.Change("mode", before.Mode, after.Mode)
            .Change("auto_enroll", before.AutoEnroll, after.AutoEnroll)
            .Change("min_attestation", before.MinAttestation, after.MinAttestation)
            .Change("allow_sha1_signatures", before.AllowSha1Signatures, after.AllowSha1Signatures)
            .Change("ekcert_allowed_cas", Subjects(before.EkCertAllowedCas), Subjects(after.EkCertAllowedCas));
        audit.Message = change.Before.Version == change.After.Version ? "device trust config unchanged" : "device trust config changed";
        return ToProto(change.After);
    }

    /// <summary>Who the EK CAs are, for the audit log (the PEM itself says nothing to a reader).</summary>
    private static List<string> Subjects(IEnumerable<string> pems) =>
        pems.Select(pem =>
        {
            using var certificate = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPem(pem);
            return $"{certificate.Subject} (sha256 {certificate.GetCertHashString(System.Security.Cryptography.HashAlgorithmName.SHA256).ToLowerInvariant()})";
        }).ToList();

    private static ClusterConfig ToProto(ClusterConfigView view)
    {
        var deviceTrust = new Proto.V1.DeviceTrustConfig
        {
            Mode = view.DeviceTrust.Mode,
            AutoEnroll = view.DeviceTrust.AutoEnroll,
            MinAttestation = view.DeviceTrust.MinAttestation,
            AllowSha1Signatures = view.DeviceTrust.AllowSha1Signatures
        };
        deviceTrust.EkcertAllowedCas.AddRange(view.DeviceTrust.EkCertAllowedCas);
        return new ClusterConfig { DeviceTrust = deviceTrust };
    }
}
