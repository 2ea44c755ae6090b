using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using DeviceTrust.Client.Connection;
using DeviceTrust.Client.Devices;
using DeviceTrust.Client.Profiles;
using DeviceTrust.Proto.V1;
using Grpc.Core;
using Grpc.Net.Client;

namespace DeviceTrust.EndToEnd.Tests;

/// <summary>Locks cut a user, a device or a role off at once, on the API, at login and at device authentication.</summary>
[Collection(SharedGatewayCollection.Name)]
public sealed class LockTests(SharedGateway shared) : IDisposable
{
    private readonly GrpcChannel _admin = GatewayChannel.ForProfile(shared.AdminProfile);

    public void Dispose() => _admin.Dispose();

    private static async Task<RpcException?> WhoAmIAsync(GrpcChannel channel)
    {
        try
        {
            await new AuthService.AuthServiceClient(channel).WhoAmIAsync(new WhoAmIRequest());
            return null;
        }
        catch (RpcException e)
        {
            return e;
        }
    }

    [Fact]
    public async Task A_locked_user_is_cut_off_at_once_everywhere_and_back_when_the_lock_is_removed()
    {
        var (name, cli, password) = await shared.NewUserAsync("access");
        using var channel = GatewayChannel.ForProfile(new ProfileStore(cli.Home).Load()!);
        Assert.Null(await WhoAmIAsync(channel));
        var added = (await shared.Admin.Dtctl("locks", "add", "--user", name, "--message", "suspended pending review")).Succeeded().StdOut;
        Assert.Matches($@"^Lock [0-9a-f]{{12}} on user {name} is in force until removed", added);
        var id = added.Split(' ')[1];
        var reason = $"lock targeting user {name} is in force: suspended pending review";

        // the certificate already issued stops working, and no new one is issued
        Refusals.Is(StatusCode.PermissionDenied, reason, (await WhoAmIAsync(channel))!);
        (await cli.DtshWithInput(password + "\n", "login", "--user", name)).FailedWith(reason);
        var refused = await AuditTrail.LastAsync(_admin, "user.whoami", e => e.User == name);
        AuditTrail.IsRefusal(refused, StatusCode.PermissionDenied, reason);
        Assert.Contains($"\"lock_id\":\"{id}\"", refused.Details);
        AuditTrail.IsRefusal(await AuditTrail.LastAsync(_admin, "user.login", e => e.User == name), StatusCode.PermissionDenied, reason);
        var created = await AuditTrail.LastAsync(_admin, "lock.create", e => e.Target == $"user/{name}");
        Assert.True(created.Success);
        Assert.Contains("suspended pending review", created.Details);
        Assert.Contains(id, (await shared.Admin.Dtctl("locks", "ls")).Succeeded().StdOut);

        (await shared.Admin.Dtctl("locks", "rm", id)).Succeeded();
        Assert.Null(await WhoAmIAsync(channel));
        Assert.True((await AuditTrail.LastAsync(_admin, "lock.delete", e => e.Target == $"user/{name}")).Success);
        (await cli.DtshWithInput(password + "\n", "login", "--user", name)).Succeeded();
    }

    [Fact]
    public async Task A_locked_device_no_longer_authenticates_and_its_certificate_stops_working()
    {
        var (name, cli, _) = await shared.NewUserAsync("access");
        var profile = new ProfileStore(cli.Home).Load()!;
        using var channel = GatewayChannel.ForProfile(profile);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var serial = "LK" + Guid.NewGuid().ToString("N")[..10].ToUpperInvariant();
        var created = await new DeviceTrustService.DeviceTrustServiceClient(_admin).CreateDeviceAsync(
            new CreateDeviceRequest { OsType = OSType.Linux, AssetTag = serial, CreateEnrollToken = true });
        var data = new DeviceCollectedData { OsType = OSType.Linux, SerialNumber = serial, OsVersion = "12" };
        var device = await DeviceCeremonies.EnrollAsync(channel, created.EnrollToken.Token, "cred", key, data, default);
        var der = (await DeviceCeremonies.AuthenticateAsync(channel, device.Id, "cred", key, data, default)).X509Der.ToByteArray();
        using var augmented = X509CertificateLoader.LoadCertificate(der);
        using var withKey = augmented.CopyWithPrivateKey(profile.Key);
        using var deviceChannel = GatewayChannel.Create(profile.Proxy, profile.Ca, withKey);
        Assert.Null(await WhoAmIAsync(deviceChannel));

        var added = (await shared.Admin.Dtctl("locks", "add", "--asset-tag", serial, "--message", "reported stolen")).Succeeded().StdOut;
        var reason = $"lock targeting device {serial} is in force: reported stolen";
        var refused = await Refusals.Of(() => DeviceCeremonies.AuthenticateAsync(channel, device.Id, "cred", key, data, default));
        Refusals.Is(StatusCode.PermissionDenied, reason, refused);
        AuditTrail.IsRefusal(await AuditTrail.LastAsync(_admin, "device.authenticate", e => e.DeviceId == device.Id), StatusCode.PermissionDenied, reason);
        Refusals.Is(StatusCode.PermissionDenied, reason, (await WhoAmIAsync(deviceChannel))!);
        // the person without the device is not locked
        Assert.Null(await WhoAmIAsync(channel));
        Assert.Equal(2, (await new DeviceTrustService.DeviceTrustServiceClient(_admin).GetDeviceAsync(new GetDeviceRequest { DeviceId = device.Id })).CollectedData.Count);

        (await shared.Admin.Dtctl("locks", "rm", added.Split(' ')[1])).Succeeded();
        await DeviceCeremonies.AuthenticateAsync(channel, device.Id, "cred", key, data, default);
        Assert.Null(await WhoAmIAsync(deviceChannel));
    }

    [Fact]
    public async Task A_role_lock_stops_its_holders_and_a_lock_with_a_ttl_ends_by_itself()
    {
        var role = "r" + Guid.NewGuid().ToString("N")[..10];
        (await shared.Admin.Dtctl("roles", "create", "-f", WriteRole(role))).Succeeded();
        var (name, cli, _) = await shared.NewUserAsync("access," + role);
        using var channel = GatewayChannel.ForProfile(new ProfileStore(cli.Home).Load()!);
        (await shared.Admin.Dtctl("locks", "add", "--role", role, "--ttl", "2s")).Succeeded();
        Refusals.Is(StatusCode.PermissionDenied, $"lock targeting role {role} is in force", (await WhoAmIAsync(channel))!);
        await Task.Delay(TimeSpan.FromSeconds(2.5));
        Assert.Null(await WhoAmIAsync(channel));
        Assert.DoesNotContain($"role {role}", (await shared.Admin.Dtctl("locks", "ls")).Succeeded().StdOut);
        // nobody locks themselves out by accident
        (await shared.Admin.Dtctl("locks", "add", "--role", "editor")).FailedWith("you hold role editor: a lock on it would lock you out too");
        (await shared.Admin.Dtctl("locks", "add", "--user", "admin")).FailedWith("you cannot lock yourself out: ask another administrator");
        (await shared.Admin.Dtctl("locks", "add", "--user", "nobody-" + name)).FailedWith($"user \"nobody-{name}\" not found");
    }

    private string WriteRole(string role)
    {
        var file = shared.Path(role + ".yaml");
        File.WriteAllText(file, $"kind: role\nmetadata: {{name: {role}}}\nspec: {{allow: {{rules: {{device: [list]}}}}}}\n");
        return file;
    }
}
