using System.Net;
using System.Security.Cryptography;
using DeviceTrust.Client.Connection;
using DeviceTrust.Client.Devices;
using DeviceTrust.Client.Login;
using DeviceTrust.Client.Profiles;
using DeviceTrust.Core.Invitations;
using DeviceTrust.Proto.V1;
using DeviceTrust.Testing;
using DeviceTrust.Tpm.Device;
using Grpc.Net.Client;

namespace DeviceTrust.LoadTest;

/// <summary>
/// The simulated fleet of the storms: each device an asset tag, an enrollment token, its own P-256 key and, once
/// enrolled, its id. By default each device also has its own user (made by the admin, invited, their invitation
/// accepted with a password) who enrolls it, owns it and authenticates it over their own mTLS connection, as a real
/// fleet does; with a shared user every device is the admin's and the fleet shares the admin's connections.
/// </summary>
internal sealed class StormFleet : IAsyncDisposable
{
    private readonly string[] _tags;
    private readonly string[] _tokens;
    private readonly string[] _ids;
    private readonly ECDsa[] _keys;
    private readonly GrpcChannel?[] _own;
    private readonly GrpcChannel[] _shared;
    private readonly byte[]?[] _certificates;
    private readonly string[] _credentials;
    private readonly List<(SoftwareTpm Swtpm, TpmDevice Tpm, SemaphoreSlim Turn)> _tpms = [];

    private StormFleet(int size, GrpcChannel[] shared)
    {
        _credentials = new string[size];
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

    /// <summary>The swtpm processes of the TPM devices, whose CPU counts as the devices'.</summary>
    public IEnumerable<(string Name, int Pid)> Helpers => _tpms.Select(t => ("swtpm", t.Swtpm.Pid));

    /// <summary>
    /// Makes the fleet: its users (unless shared), then <paramref name="size"/> devices with tokens, the first
    /// <paramref name="tpmDevices"/> of them backed each by a swtpm of its own, manufactured and started here (a TPM
    /// answers one command at a time, so each TPM device runs one ceremony at a time).
    /// </summary>
    public static async Task<StormFleet> CreateAsync(Profile admin, GrpcChannel[] shared, int size, bool ownUsers, int tpmDevices,
        CancellationToken cancellationToken)
    {
        var fleet = new StormFleet(size, shared);
        var run = Guid.NewGuid().ToString("N")[..6];
        try
        {
            if (tpmDevices > 0)
            {
                Console.Error.WriteLine($"starting {tpmDevices} software TPMs …");
                foreach (var swtpm in await Task.WhenAll(Enumerable.Range(0, Math.Min(tpmDevices, size)).Select(_ => SoftwareTpm.StartAsync())))
                {
                    fleet._tpms.Add((swtpm, TpmDevice.Open(swtpm.Tcti), new SemaphoreSlim(1, 1)));
                }
            }
            if (ownUsers)
            {
                await fleet.AddUsersAsync(admin, run, cancellationToken);
            }
        }
        catch
        {
            await fleet.DisposeAsync();
            throw;
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
            await fleet.DisposeAsync();
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
            _own[i] = GatewayChannel.Create(profile.Proxy, profile.Ca, profile.CertificateWithKey(), SourceAddress(admin.Proxy, (int)i));
        }, cancellationToken);
        Console.WriteLine(accepted.Summary());
        if (created.Errors > 0 || accepted.Errors > 0)
        {
            throw new InvalidOperationException("the fleet's users could not be created: see the errors above");
        }
    }

    /// <summary>
    /// Against a gateway on loopback, each user connects from an address of its own (127.64.0.1, 127.64.0.2, …), as a
    /// fleet does: one source holding a thousand connections is what the gateway's per-address limit exists to stop.
    /// Elsewhere, the system picks.
    /// </summary>
    private static IPAddress? SourceAddress(string proxy, int i) =>
        GatewayAddress.ParseAll(proxy).All(gateway => gateway.IsLoopback)
            ? new IPAddress([127, (byte)(64 + i / 65024), (byte)(i / 254 % 256), (byte)(i % 254 + 1)])
            : null;

    private static StormPlan Setup(int size, int concurrency) => new(null, concurrency, TimeSpan.FromHours(1), size);

    public async Task EnrollAsync(int i, CancellationToken cancellationToken)
    {
        if (i < _tpms.Count)
        {
            var (_, tpm, turn) = _tpms[i];
            await turn.WaitAsync(cancellationToken);
            try
            {
                _credentials[i] = (await TpmCeremonies.EnrollAsync(ChannelOf(i), _tokens[i], tpm, CeremonyScenario.Data(_tags[i]), cancellationToken)).Credential.Id;
            }
            finally
            {
                turn.Release();
            }
            return;
        }
        _credentials[i] = $"cred-{i}";
        await DeviceCeremonies.EnrollAsync(ChannelOf(i), _tokens[i], _credentials[i], _keys[i], CeremonyScenario.Data(_tags[i]), cancellationToken);
    }

    public async Task AuthenticateAsync(int i, CancellationToken cancellationToken)
    {
        UserCertificates certificates;
        if (i < _tpms.Count)
        {
            var (_, tpm, turn) = _tpms[i];
            await turn.WaitAsync(cancellationToken);
            try
            {
                certificates = await TpmCeremonies.AuthenticateAsync(ChannelOf(i), _ids[i], _credentials[i], tpm, CeremonyScenario.Data(_tags[i]), cancellationToken);
            }
            finally
            {
                turn.Release();
            }
        }
        else
        {
            certificates = await DeviceCeremonies.AuthenticateAsync(ChannelOf(i), _ids[i], _credentials[i], _keys[i], CeremonyScenario.Data(_tags[i]),
                cancellationToken);
        }
        Volatile.Write(ref _certificates[i], certificates.X509Der.ToByteArray());
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var key in _keys)
        {
            key?.Dispose();
        }
        foreach (var channel in _own)
        {
            channel?.Dispose();
        }
        foreach (var (swtpm, tpm, turn) in _tpms)
        {
            tpm.Dispose();
            turn.Dispose();
            await swtpm.DisposeAsync();
        }
    }
}
