using DeviceTrust.Core.Roles;
using DeviceTrust.Gateway.Authentication;
using DeviceTrust.Gateway.Policy;
using DeviceTrust.Grains.Config;
using DeviceTrust.Proto.V1;
using Grpc.Core;

namespace DeviceTrust.Gateway.Services;

public sealed class ClusterConfigGrpcService(IGrainFactory grains, IdentityCache identities, ILogger<ClusterConfigGrpcService> log) : ClusterConfigService.ClusterConfigServiceBase
{
    private IClusterConfigGrain Config => grains.GetGrain<IClusterConfigGrain>(ClusterConfigGrain.Key);

    [Requires(Resources.ClusterConfig, "read")]
    public override async Task<ClusterConfig> GetClusterConfig(GetClusterConfigRequest request, ServerCallContext context) =>
        ToProto(await Config.GetAsync());

    [Requires(Resources.ClusterConfig, "update")]
    public override async Task<ClusterConfig> UpdateDeviceTrustConfig(UpdateDeviceTrustConfigRequest request, ServerCallContext context)
    {
        if (request.EkcertAllowedCas.Count > 32 || request.EkcertAllowedCas.Any(pem => pem.Length > 16 * 1024))
        {
            throw Core.Errors.DeviceTrustException.InvalidArgument("at most 32 EK CAs of at most 16 KiB each");
        }
        // The grain validates every value before it writes any: a bad one changes nothing.
        var view = await Config.UpdateDeviceTrustAsync(
            request.HasMode ? request.Mode : null,
            request.HasAutoEnroll ? request.AutoEnroll : null,
            request.SetEkcertAllowedCas ? request.EkcertAllowedCas.ToList() : null,
            request.HasMinAttestation ? request.MinAttestation : null);
        identities.InvalidateConfig();
        log.LogInformation("{Caller} changed the device trust config: mode {Mode}, auto-enroll {AutoEnroll}",
            Caller.Of(context).Name, view.DeviceTrust.Mode, view.DeviceTrust.AutoEnroll);
        return ToProto(view);
    }

    private static ClusterConfig ToProto(ClusterConfigView view)
    {
        var deviceTrust = new Proto.V1.DeviceTrustConfig { Mode = view.DeviceTrust.Mode, AutoEnroll = view.DeviceTrust.AutoEnroll, MinAttestation = view.DeviceTrust.MinAttestation };
        deviceTrust.EkcertAllowedCas.AddRange(view.DeviceTrust.EkCertAllowedCas);
        return new ClusterConfig { DeviceTrust = deviceTrust };
    }
}
