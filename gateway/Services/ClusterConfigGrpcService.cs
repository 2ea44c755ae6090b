using DeviceTrust.Core.Audit;
using DeviceTrust.Core.Roles;
using DeviceTrust.Gateway.Audit;
using DeviceTrust.Gateway.Authentication;
using DeviceTrust.Gateway.Policy;
using DeviceTrust.Grains;
using DeviceTrust.Grains.Attestation;
using DeviceTrust.Grains.Authorities;
using DeviceTrust.Grains.Config;
using DeviceTrust.Grains.Nodes;
using DeviceTrust.Proto.V1;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace DeviceTrust.Gateway.Services;

public sealed class ClusterConfigGrpcService(IGrainFactory grains, IdentityCache identities, Silo.Hosting.DeviceTrustHostOptions host,
    Hosting.AuthorityLoader authorities, Hosting.ClusterAuthority authority, Hosting.GatewayOptions gateway, TimeProvider time)
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

    [Requires(Resources.ClusterConfig, "update")]
    [Audited(AuditCodes.CaRotate)]
    public override async Task<CaStatus> RotateCa(RotateCaRequest request, ServerCallContext context)
    {
        var audit = context.Audit();
        var kind = KindText(request.Kind);
        audit.Target = $"ca/{kind}";
        var step = request.Step switch
        {
            Proto.V1.CaRotationStep.Start => Grains.Authorities.CaRotationStep.Start,
            Proto.V1.CaRotationStep.Switch => Grains.Authorities.CaRotationStep.Switch,
            Proto.V1.CaRotationStep.Finish => Grains.Authorities.CaRotationStep.Finish,
            Proto.V1.CaRotationStep.Cancel => Grains.Authorities.CaRotationStep.Cancel,
            _ => throw Core.Errors.DeviceTrustException.InvalidArgument("step must be start, switch, finish or cancel"),
        };
        var before = await CaStatusAsync(request.Kind);
        audit.Detail("step", step.ToString().ToLowerInvariant()).Detail("force", request.Force);
        if (step == Grains.Authorities.CaRotationStep.Finish && !request.Force && before.FinishTime is { } earliest && earliest.ToDateTimeOffset() > time.GetUtcNow())
        {
            throw Core.Errors.DeviceTrustException.FailedPrecondition(
                $"the {kind} CA switched at {before.ChangeTime.ToDateTimeOffset():u}: user certificates the old one signed are valid until {earliest.ToDateTimeOffset():u}; "
                + "finish then, or now with --force (those certificates stop working at once)");
        }
        _ = request.Kind switch
        {
            CaKind.X509 => (await grains.GetGrain<ICertificateAuthorityGrain>(GrainKeys.UserCa).RotateAsync(step, host.ClusterName)).Rotation,
            CaKind.SshUser => (await grains.GetGrain<ISshAuthorityGrain>(GrainKeys.SshUserCa).RotateAsync(step)).Rotation,
            _ => (await grains.GetGrain<ISshAuthorityGrain>(GrainKeys.SshHostCa).RotateAsync(step)).Rotation,
        };
        // This gateway at once; the others at their next look (AuthorityWatch, every few seconds).
        await authorities.RefreshAsync();
        var after = await CaStatusAsync(request.Kind);
        audit.Change("phase", before.Phase, after.Phase).Change("current", before.Current, after.Current).Change("other", before.Other, after.Other);
        audit.Message = $"{kind} CA rotation: {step.ToString().ToLowerInvariant()} (now {after.Phase})";
        return after;
    }

    [Requires(Resources.ClusterConfig, "read")]
    [Audited(AuditCodes.CaStatus, Reads = true)]
    public override async Task<GetCaStatusResponse> GetCaStatus(GetCaStatusRequest request, ServerCallContext context) =>
        new() { Cas = { await CaStatusAsync(CaKind.X509), await CaStatusAsync(CaKind.SshUser), await CaStatusAsync(CaKind.SshHost) } };

    private async Task<CaStatus> CaStatusAsync(CaKind kind)
    {
        CaRotation rotation;
        string current, other;
        if (kind == CaKind.X509)
        {
            var trust = await grains.GetGrain<ICertificateAuthorityGrain>(GrainKeys.UserCa).GetOrCreateAsync(host.ClusterName);
            (rotation, current, other) = (trust.Rotation, Pin(trust.Current.CertificateDer), trust.Other is { } o ? Pin(o.CertificateDer) : "");
        }
        else
        {
            // The public keys are what this gateway loaded (only the encrypted private keys are stored): loaded again first if stale.
            await authorities.RefreshAsync();
            var trust = await grains.GetGrain<ISshAuthorityGrain>(kind == CaKind.SshUser ? GrainKeys.SshUserCa : GrainKeys.SshHostCa).GetOrCreateAsync();
            var keys = kind == CaKind.SshUser ? authority.TrustedSshUsers : authority.TrustedSshHosts;
            (rotation, current, other) = (trust.Rotation, keys[0].Fingerprint, keys.Count > 1 ? keys[1].Fingerprint : "");
        }
        var status = new CaStatus { Kind = kind, Phase = rotation.Phase.ToString().ToLowerInvariant(), Generation = rotation.Generation, Current = current, Other = other };
        if (rotation.Changed is { } changed)
        {
            status.ChangeTime = Timestamp.FromDateTimeOffset(changed);
            if (rotation.Phase == CaRotationPhase.Switched)
            {
                // What the replaced CA signed for a user lives at most CertificateTtl (and starts a little in the past).
                status.FinishTime = Timestamp.FromDateTimeOffset(changed + gateway.CertificateTtl + Core.Certificates.CertificateAuthority.ClockSkewAllowance);
            }
        }
        return status;
    }

    /// <summary>The CA's name in audit targets and messages; InvalidArgument for none.</summary>
    public static string KindText(CaKind kind) => kind switch
    {
        CaKind.X509 => "x509",
        CaKind.SshUser => "ssh-user",
        CaKind.SshHost => "ssh-host",
        _ => throw Core.Errors.DeviceTrustException.InvalidArgument("kind must be x509, ssh-user or ssh-host"),
    };

    private static string Pin(byte[] der)
    {
        using var certificate = System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadCertificate(der);
        return Core.Certificates.CaPin.Of(certificate);
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
            UnenrollOnMdmOwnerChange = request.HasUnenrollOnMdmOwnerChange ? request.UnenrollOnMdmOwnerChange : null,
            SyncConfirmTwicePercent = request.HasSyncConfirmTwicePercent ? request.SyncConfirmTwicePercent : null,
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
            .Change("boot_policy", before.BootPolicy, after.BootPolicy)
            .Change("unenroll_on_mdm_owner_change", before.UnenrollOnMdmOwnerChange, after.UnenrollOnMdmOwnerChange)
            .Change("sync_confirm_twice_percent", before.SyncConfirmTwicePercent, after.SyncConfirmTwicePercent);
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
            UnenrollOnMdmOwnerChange = view.DeviceTrust.UnenrollOnMdmOwnerChange,
            SyncConfirmTwicePercent = view.DeviceTrust.SyncConfirmTwicePercent,
        };
        deviceTrust.MinOsVersions.Add(view.DeviceTrust.MinOsVersions.ToDictionary());
        deviceTrust.EkcertAllowedCas.AddRange(view.DeviceTrust.EkCertAllowedCas);
        return new ClusterConfig { DeviceTrust = deviceTrust };
    }
}
