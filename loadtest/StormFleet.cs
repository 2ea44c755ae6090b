using System.Security.Cryptography;
using DeviceTrust.Client.Connection;
using DeviceTrust.Client.Devices;
using DeviceTrust.Client.Login;
using DeviceTrust.Client.Profiles;
using DeviceTrust.Core.Invitations;
using DeviceTrust.Proto.V1;
using Grpc.Net.Client;

namespace DeviceTrust.LoadTest;

/// <summary>
/// The simulated fleet of the storms: each device an asset tag, an enrollment token, its own P-256 key and, once
/// enrolled, its id. By default each device also has its own user (made by the admin, invited, their invitation
/// accepted with a password) who enrolls it, owns it and authenticates it over their own mTLS connection, as a real
/// fleet does; with a shared user every device is the admin's and the fleet shares the admin's connections.
/// </summary>
internal sealed class StormFleet : IDisposable
{
    private readonly string[] _tags;
    private readonly string[] _tokens;
    private readonly string[] _ids;
    private readonly ECDsa[] _keys;
    private readonly GrpcChannel?[] _own;
    private readonly GrpcChannel[] _shared;
    private readonly byte[]?[] _certificates;

    private StormFleet(int size, GrpcChannel[] shared)
    {
        _tags = new string[size];
        _tokens = new string[size];
        _ids = new string[size];
        _keys = new ECDsa[size];
        _own = new GrpcChannel?[size];
        _certificates = new byte[]?[size];
        _shared = shared;
    }

    public int Size => _tags.Length;

    /// <summary>Whether each device has its own user and connection.</summary>
    public bool OwnUsers => _own.Length > 0 && _own[0] is not null;

    /// <summary>The connection device <paramref name="i"/>'s user talks over.</summary>
    public GrpcChannel ChannelOf(int i) => _own[i] ?? _shared[i % _shared.Length];

    /// <summary>The admin's connections (an integration's, a proxy's).</summary>
    public GrpcChannel SharedChannel(long i) => _shared[i % _shared.Length];

    /// <summary>The device-bound user certificate device <paramref name="i"/> got at its last authentication (DER), if it had one.</summary>
    public byte[]? CertificateOf(int i) => Volatile.Read(ref _certificates[i]);

    public static async Task<StormFleet> CreateAsync(Profile admin, GrpcChannel[] shared, int size, bool ownUsers, CancellationToken cancellationToken)
    {
        var fleet = new StormFleet(size, shared);
        var run = Guid.NewGuid().ToString("N")[..6];
        if (ownUsers)
        {
            await fleet.AddUsersAsync(admin, run, cancellationToken);
        }
        Console.Error.WriteLine($"adding {size} devices with enrollment tokens …");
        var created = await Storm.RunAsync("create device + token (setup)", Setup(size, 16), async (i, token) =>
        {
            var device = await new DeviceTrustService.DeviceTrustServiceClient(fleet.SharedChannel(i)).CreateDeviceAsync(new CreateDeviceRequest
            {
                OsType = OSType.Linux,
                AssetTag = $"ST{run.ToUpperInvariant()}{i:D7}",
                CreateEnrollToken = true,
            }, cancellationToken: token);
            fleet._tags[i] = device.AssetTag;
            fleet._tokens[i] = device.EnrollToken.Token;
            fleet._ids[i] = device.Id;
            fleet._keys[i] = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        }, cancellationToken);
        Console.WriteLine(created.Summary());
        if (created.Errors > 0)
        {
            fleet.Dispose();
            throw new InvalidOperationException("the fleet could not be created: see the errors above");
        }
        return fleet;
    }

    /// <summary>
    /// One user per device, with the preset role <c>access</c>: created by the admin, then each invitation accepted
    /// with a password (a password hash each, slow on purpose: one at a time per core, as many as the gateway has
    /// hashing workers by default; a busy gateway's pushback is waited out) and a connection opened with the
    /// certificate it gave.
    /// </summary>
    private async Task AddUsersAsync(Profile admin, string run, CancellationToken cancellationToken)
    {
        Console.Error.WriteLine($"adding {Size} users, one per device …");
        var invitations = new InvitationToken[Size];
        var created = await Storm.RunAsync("create user (setup)", Setup(Size, 16), async (i, token) =>
        {
            var response = await new UserService.UserServiceClient(SharedChannel(i)).CreateUserAsync(
                new CreateUserRequest { Name = $"storm-{run}-{i}", Kind = UserKind.Human, Roles = { "access" } }, cancellationToken: token);
            invitations[i] = InvitationToken.Decode(response.InviteToken);
        }, cancellationToken);
        Console.WriteLine(created.Summary());
        var password = Convert.ToBase64String(RandomNumberGenerator.GetBytes(18));
        var accepted = await Storm.RunAsync("accept invitation (setup: a password hash each)", Setup(Size, Environment.ProcessorCount), async (i, token) =>
        {
            var profile = await LoginFlow.AcceptInvitationAsync(admin.Proxy, invitations[i], password, null, token);
            _own[i] = GatewayChannel.ForProfile(profile);
        }, cancellationToken);
        Console.WriteLine(accepted.Summary());
        if (created.Errors > 0 || accepted.Errors > 0)
        {
            Dispose();
            throw new InvalidOperationException("the fleet's users could not be created: see the errors above");
        }
    }

    private static StormPlan Setup(int size, int concurrency) => new(null, concurrency, TimeSpan.FromHours(1), size);

    public Task<Device> EnrollAsync(int i, CancellationToken cancellationToken) =>
        DeviceCeremonies.EnrollAsync(ChannelOf(i), _tokens[i], $"cred-{i}", _keys[i], CeremonyScenario.Data(_tags[i]), cancellationToken);

    public async Task AuthenticateAsync(int i, CancellationToken cancellationToken)
    {
        var certificates = await DeviceCeremonies.AuthenticateAsync(ChannelOf(i), _ids[i], $"cred-{i}", _keys[i], CeremonyScenario.Data(_tags[i]),
            cancellationToken);
        Volatile.Write(ref _certificates[i], certificates.X509Der.ToByteArray());
    }

    public void Dispose()
    {
        foreach (var key in _keys)
        {
            key?.Dispose();
        }
        foreach (var channel in _own)
        {
            channel?.Dispose();
        }
    }
}
