using DeviceTrust.Core.Audit;
using DeviceTrust.Core.Roles;
using DeviceTrust.Gateway.Audit;
using DeviceTrust.Gateway.Authentication;
using DeviceTrust.Gateway.Policy;
using DeviceTrust.Grains;
using DeviceTrust.Grains.Attestation;
using DeviceTrust.Grains.Config;
using DeviceTrust.Grains.Nodes;
using DeviceTrust.Proto.V1;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace DeviceTrust.Gateway.Services;

public sealed class ClusterConfigGrpcService(IGrainFactory grains, IdentityCache identities, Silo.Hosting.DeviceTrustHostOptions host)
    : ClusterConfigService.ClusterConfigServiceBase
{
    private IClusterConfigGrain Config => grains.GetGrain<IClusterConfigGrain>(GrainKeys.Cluster);

    [Requires(Resources.ClusterConfig, "read")]
    [Audited(AuditCodes.ConfigGet, Reads = true)]
    public override async Task<ClusterConfig> GetClusterConfig(GetClusterConfigRequest request, ServerCallContext context) =>
        ToProto(await Config.GetAsync());

    [Requires(Resources.ClusterConfig, "read")]
    [Audited(AuditCodes.ClusterStatus, Reads = true)]
    public override async Task<ClusterStatus> GetClusterStatus(GetClusterStatusRequest request, ServerCallContext context)
    {
        var management = grains.GetGrain<IManagementGrain>(0);
        var members = await management.GetDetailedHosts(onlyActive: false);
        var active = members.Where(m => m.Status == SiloStatus.Active).Select(m => m.SiloAddress).ToArray();
        var activations = new Dictionary<SiloAddress, int>();
        if (active.Length > 0)
        {
            var statistics = await management.GetRuntimeStatistics(active);
            for (var i = 0; i < active.Length; i++)
            {
                activations[active[i]] = statistics[i].ActivationCount;
            }
        }
        var status = new ClusterStatus { ClusterId = host.Cluster.ClusterId };
        status.Silos.AddRange(members.OrderBy(m => m.SiloAddress.ToString(), StringComparer.Ordinal).Select(m => new SiloNode
        {
            Address = $"{m.SiloAddress.Endpoint}",
            Name = m.SiloName ?? "",
            HostName = m.HostName ?? "",
            Status = StatusText(m.Status),
            StartTime = Timestamp.FromDateTime(DateTime.SpecifyKind(m.StartTime, DateTimeKind.Utc)),
            LastHeartbeat = Timestamp.FromDateTime(DateTime.SpecifyKind(m.IAmAliveTime, DateTimeKind.Utc)),
            Activations = activations.TryGetValue(m.SiloAddress, out var count) ? count : -1,
            ClientPort = m.ProxyPort,
        }));
        status.Gateways.AddRange((await grains.GetGrain<IGatewayRegistryGrain>(GrainKeys.Cluster).ListAsync()).Select(g => new GatewayNode
        {
            Name = g.Name,
            Listen = g.Listen,
            Mode = g.Mode,
            StartTime = Timestamp.FromDateTimeOffset(g.Started),
            LastSeen = Timestamp.FromDateTimeOffset(g.LastSeen),
        }));
        return status;
    }

    [Requires(Resources.ClusterConfig, "update")]
    [Audited(AuditCodes.SecretsRewrap)]
    public override async Task<RewrapSecretsResponse> RewrapSecrets(RewrapSecretsRequest request, ServerCallContext context)
    {
        var audit = context.Audit();
        audit.Target = "master_key";
        var response = new RewrapSecretsResponse();
        foreach (var (name, rewrap) in new (string, Func<Task<bool>>)[]
                 {
                     ("user CA key", () => grains.GetGrain<Grains.Authorities.ICertificateAuthorityGrain>(GrainKeys.UserCa).RewrapAsync()),
                     ("SSH user CA key", () => grains.GetGrain<Grains.Authorities.ISshAuthorityGrain>(GrainKeys.SshUserCa).RewrapAsync()),
                     ("SSH host CA key", () => grains.GetGrain<Grains.Authorities.ISshAuthorityGrain>(GrainKeys.SshHostCa).RewrapAsync()),
                 })
        {
            (await rewrap() ? response.Rewrapped : response.Current).Add(name);
        }
        audit.Message = response.Rewrapped.Count == 0
            ? "every stored secret was already under the current master key"
            : $"re-encrypted under the current master key: {string.Join(", ", response.Rewrapped)}";
        return response;
    }

    private static string StatusText(SiloStatus status) => status switch
    {
        SiloStatus.ShuttingDown => "shutting_down",
        _ => status.ToString().ToLowerInvariant(),
    };

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
        if (request.SetMinOsVersions.Count > Core.Devices.MinimumOsVersions.MaxEntries
            || request.SetMinOsVersions.Any(v => v.Key.Length > 64 || v.Value.Length > 32)
            || request.HasQuotePcrs && request.QuotePcrs.Length > 256
            || request.HasBootPolicy && request.BootPolicy.Length > BootPolicyYaml.MaxBytes)
        {
            throw Core.Errors.DeviceTrustException.InvalidArgument(
                $"at most {Core.Devices.MinimumOsVersions.MaxEntries} minimum OS versions (OS names of at most 64 characters, versions of at most 32), quote_pcrs of at most 256 characters, a boot policy of at most {BootPolicyYaml.MaxBytes} bytes");
        }
        var change = await Config.UpdateDeviceTrustAsync(new DeviceTrustUpdate
        {
            Mode = request.HasMode ? request.Mode : null,
            AutoEnroll = request.HasAutoEnroll ? request.AutoEnroll : null,
            EkCertAllowedCas = request.SetEkcertAllowedCas ? request.EkcertAllowedCas.ToList() : null,
            MinAttestation = request.HasMinAttestation ? request.MinAttestation : null,
            AllowSha1Signatures = request.HasAllowSha1Signatures ? request.AllowSha1Signatures : null,
            MinOsVersions = request.SetMinOsVersions.Count > 0 ? request.SetMinOsVersions.ToDictionary() : null,
            QuotePcrs = request.HasQuotePcrs ? request.QuotePcrs : null,
            // validated before it reaches the grain (which checks it again before storing it)
            BootPolicy = request.HasBootPolicy ? Validated(request.BootPolicy) : null,
        });
        identities.InvalidateConfig();
        var (before, after) = (change.Before.DeviceTrust, change.After.DeviceTrust);
        audit.Change("mode", before.Mode, after.Mode)
            .Change("auto_enroll", before.AutoEnroll, after.AutoEnroll)
            .Change("min_attestation", before.MinAttestation, after.MinAttestation)
            .Change("allow_sha1_signatures", before.AllowSha1Signatures, after.AllowSha1Signatures)
            .Change("ekcert_allowed_cas", Subjects(before.EkCertAllowedCas), Subjects(after.EkCertAllowedCas))
            .Change("min_os_versions", string.Join(" ", before.MinOsVersions.Select(v => $"{v.Key}={v.Value}")), string.Join(" ", after.MinOsVersions.Select(v => $"{v.Key}={v.Value}")))
            .Change("quote_pcrs", before.QuotePcrs, after.QuotePcrs)
            .Change("boot_policy", before.BootPolicy, after.BootPolicy);
        audit.Message = change.Before.Version == change.After.Version ? "device trust config unchanged" : "device trust config changed";
        return ToProto(change.After);
    }

    private static string Validated(string bootPolicy)
    {
        BootPolicyYaml.Parse(bootPolicy);
        return bootPolicy;
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
            AllowSha1Signatures = view.DeviceTrust.AllowSha1Signatures,
            QuotePcrs = view.DeviceTrust.QuotePcrs.Length == 0 ? Tpm.Verification.QuotePolicy.Spec(Tpm.Verification.QuotePolicy.Default.RequiredPcrs) : view.DeviceTrust.QuotePcrs,
            BootPolicy = view.DeviceTrust.BootPolicy,
        };
        deviceTrust.MinOsVersions.Add(view.DeviceTrust.MinOsVersions.ToDictionary());
        deviceTrust.EkcertAllowedCas.AddRange(view.DeviceTrust.EkCertAllowedCas);
        return new ClusterConfig { DeviceTrust = deviceTrust };
    }
}
