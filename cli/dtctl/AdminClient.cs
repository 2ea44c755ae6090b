using DeviceTrust.Client.Connection;
using DeviceTrust.Client.Profiles;
using DeviceTrust.Proto.V1;
using Grpc.Net.Client;

namespace DeviceTrust.Cli.Dtctl;

/// <summary>dtctl talks to the gateway with the profile dtsh left behind (same folder, same certificate).</summary>
public sealed class AdminClient : IDisposable
{
    private readonly GrpcChannel _channel;

    private AdminClient(Profile profile)
    {
        Profile = profile;
        _channel = GatewayChannel.ForProfile(profile);
    }

    public Profile Profile { get; }
    public UserService.UserServiceClient Users => new(_channel);
    public RoleService.RoleServiceClient Roles => new(_channel);
    public ClusterConfigService.ClusterConfigServiceClient Config => new(_channel);
    public DeviceTrustService.DeviceTrustServiceClient Devices => new(_channel);
    public AuditService.AuditServiceClient Audit => new(_channel);
    public LockService.LockServiceClient Locks => new(_channel);
    public AccessService.AccessServiceClient Access => new(_channel);
    public NodeService.NodeServiceClient Nodes => new(_channel);

    public static AdminClient Open(ProfileStore store) => new(CurrentProfile.Require(store));

    public void Dispose() => _channel.Dispose();
}
