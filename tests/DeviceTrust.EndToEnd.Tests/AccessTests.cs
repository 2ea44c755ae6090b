using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using DeviceTrust.Client.Connection;
using DeviceTrust.Client.Devices;
using DeviceTrust.Client.Profiles;
using DeviceTrust.Proto.V1;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;

namespace DeviceTrust.EndToEnd.Tests;

/// <summary>Access decisions through the real gateway: "what if" for administrators, and certificates a proxy presents.</summary>
[Collection(SharedGatewayCollection.Name)]
public sealed class AccessTests(SharedGateway shared) : IDisposable
{
    private readonly GrpcChannel _admin = GatewayChannel.ForProfile(shared.AdminProfile);

    public void Dispose() => _admin.Dispose();

    private AccessService.AccessServiceClient Access => new(_admin);

    private static AccessResource Node(string login = "root") => new() { Kind = "ssh", Name = "web-1", Login = login, Labels = { ["env"] = "prod" } };

    private async Task<(string Name, Profile Profile, Device Device, ECDsa Key)> PersonWithDeviceAsync(string roles)
    {
        var (name, cli, _) = await shared.NewUserAsync(roles);
        var profile = new ProfileStore(cli.Home).Load()!;
        using var channel = GatewayChannel.ForProfile(profile);
        var serial = "AC" + Guid.NewGuid().ToString("N")[..10].ToUpperInvariant();
        var created = await new DeviceTrustService.DeviceTrustServiceClient(_admin).CreateDeviceAsync(
            new CreateDeviceRequest { OsType = OSType.Linux, AssetTag = serial, CreateEnrollToken = true });
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var device = await DeviceCeremonies.EnrollAsync(channel, created.EnrollToken.Token, "cred", key,
            new DeviceCollectedData { OsType = OSType.Linux, SerialNumber = serial, OsVersion = "12" }, default);
        return (name, profile, device, key);
    }

    /// <summary>The device-bound certificate the person gets by authenticating their device (DER).</summary>
    private static async Task<ByteString> DeviceCertificateAsync(Profile profile, Device device, ECDsa key)
    {
        using var channel = GatewayChannel.ForProfile(profile);
        return (await DeviceCeremonies.AuthenticateAsync(channel, device.Id, "cred", key,
            new DeviceCollectedData { OsType = OSType.Linux, SerialNumber = device.AssetTag, OsVersion = "12" }, default)).X509Der;
    }

    [Fact]
    public async Task What_if_explains_the_decision_and_dtctl_says_why()
    {
        var (name, _, device, key) = await PersonWithDeviceAsync("require-trusted-device");
        using (key)
        {
            var without = await Access.CheckAccessAsync(new CheckAccessRequest { User = name, Resource = Node() });
            Assert.False(without.Allowed);
            Assert.Equal(["access to root@web-1 requires a trusted device: enroll this device (dtsh device enroll) and log in again"], without.Reasons);
            Assert.Equal(("required", "role require-trusted-device"), (without.Mode, without.ModeSource));
            var from = await Access.CheckAccessAsync(new CheckAccessRequest { User = name, DeviceId = device.Id, Resource = Node() });
            Assert.True(from.Allowed);
            Assert.True(from.TrustedDevice);
            Assert.Equal(["require-trusted-device"], from.MatchedRoles);

            var text = await shared.Admin.Dtctl("access", "check", "--user", name, "--node", "web-1", "--login", "root", "--labels", "env=prod");
            Assert.Equal(3, text.ExitCode);
            Assert.Contains("Decision:       denied", text.StdOut);
            Assert.Contains("Why:            access to root@web-1 requires a trusted device", text.StdOut);
            Assert.Contains("Device trust:   required (role require-trusted-device)", text.StdOut);
            Assert.Equal(0, (await shared.Admin.Dtctl("access", "check", "--user", name, "--node", "web-1", "--login", "root", "--device-id", device.Id)).ExitCode);
            var denied = await AuditTrail.LastAsync(_admin, "access.deny", e => e.User == name);
            Assert.Equal(("ssh/web-1", "PermissionDenied"), (denied.Target, denied.Status));
            Assert.True((await AuditTrail.LastAsync(_admin, "access.allow", e => e.User == name)).Success);

            // a login the roles do not reach is refused whatever the device
            var admin = await Access.CheckAccessAsync(new CheckAccessRequest { User = name, DeviceId = device.Id, Resource = Node("admin") });
            Assert.Equal([$"access to admin@web-1 is not allowed by any of {name}'s roles (require-trusted-device)"], admin.Reasons);
        }
    }

    [Fact]
    public async Task A_presented_certificate_loses_its_trusted_device_when_the_device_is_unenrolled_or_locked()
    {
        var (name, profile, device, key) = await PersonWithDeviceAsync("require-trusted-device");
        using (key)
        {
            var presented = new CheckAccessRequest { X509Der = await DeviceCertificateAsync(profile, device, key), Resource = Node() };
            Assert.True((await Access.CheckAccessAsync(presented)).Allowed);
            var plain = await Access.CheckAccessAsync(new CheckAccessRequest { X509Der = ByteString.CopyFrom(profile.Certificate.RawData), Resource = Node() });
            Assert.False(plain.Allowed);

            var locked = (await shared.Admin.Dtctl("locks", "add", "--device-id", device.Id, "--message", "left on a train")).Succeeded().StdOut.Split(' ')[1];
            var whileLocked = await Access.CheckAccessAsync(presented);
            Assert.Equal([$"lock targeting device {device.AssetTag} is in force: left on a train"], whileLocked.Reasons);
            Assert.Equal([locked], whileLocked.Locks);
            (await shared.Admin.Dtctl("locks", "rm", locked)).Succeeded();
            Assert.True((await Access.CheckAccessAsync(presented)).Allowed);

            (await shared.Admin.Dtctl("devices", "unenroll", "--device-id", device.Id)).Succeeded();
            var unenrolled = await Access.CheckAccessAsync(presented);
            Assert.Equal([$"access to root@web-1 requires a trusted device: device {device.AssetTag} is no longer enrolled; enroll it again and log in again"],
                unenrolled.Reasons);
            Assert.False(unenrolled.TrustedDevice);
        }
    }

    [Fact]
    public async Task A_presented_certificate_is_parsed_once_but_its_chain_and_user_are_checked_at_every_ask()
    {
        var (name, profile, device, key) = await PersonWithDeviceAsync("access");
        using (key)
        {
            var presented = new CheckAccessRequest { X509Der = await DeviceCertificateAsync(profile, device, key), Resource = new AccessResource { Kind = "app", Name = "grafana" } };
            for (var ask = 0; ask < 3; ask++)
            {
                var decision = await Access.CheckAccessAsync(presented);
                Assert.Equal(name, decision.User);
                Assert.True(decision.TrustedDevice);
            }

            // The parsed certificate is kept; the user it names is not: a reset revokes it at the next ask.
            (await shared.Admin.Dtctl("users", "reset", name)).Succeeded();
            var revoked = await Refusals.Of(() => Access.CheckAccessAsync(presented).ResponseAsync);
            Refusals.Is(StatusCode.Unauthenticated, "the presented certificate was revoked when the account was reset: log in again with dtsh login", revoked);
            AuditTrail.IsRefusal(await AuditTrail.LastAsync(_admin, "access.check", e => e.Message == revoked.Status.Detail), StatusCode.Unauthenticated,
                revoked.Status.Detail);
        }

        // Bytes that do not parse, or a chain that does not verify, are refused every time, not remembered as anything else.
        using var foreign = DirectClient.ForeignCertificate(name);
        for (var ask = 0; ask < 2; ask++)
        {
            var garbage = await Refusals.Of(() => Access.CheckAccessAsync(new CheckAccessRequest { X509Der = ByteString.CopyFromUtf8("not a certificate"), Resource = Node() }).ResponseAsync);
            Refusals.Is(StatusCode.InvalidArgument, "x509_der is not a DER certificate", garbage);
            var stranger = await Refusals.Of(() => Access.CheckAccessAsync(new CheckAccessRequest { X509Der = ByteString.CopyFrom(foreign.RawData), Resource = Node() }).ResponseAsync);
            Assert.Equal(StatusCode.Unauthenticated, stranger.StatusCode);
            Assert.StartsWith("the presented certificate is not a valid certificate of this cluster: PartialChain", stranger.Status.Detail);
        }
    }

    [Fact]
    public async Task A_certificate_from_another_ca_or_a_caller_without_access_read_is_refused()
    {
        using var foreign = DirectClient.ForeignCertificate("admin");
        var error = await Refusals.Of(() => Access.CheckAccessAsync(new CheckAccessRequest { X509Der = ByteString.CopyFrom(foreign.RawData), Resource = Node() }).ResponseAsync);
        Assert.Equal(StatusCode.Unauthenticated, error.StatusCode);
        Assert.StartsWith("the presented certificate is not a valid certificate of this cluster: PartialChain", error.Status.Detail);

        var (name, cli, _) = await shared.NewUserAsync("access");
        using var channel = GatewayChannel.ForProfile(new ProfileStore(cli.Home).Load()!);
        var denied = await Refusals.Of(() => new AccessService.AccessServiceClient(channel).CheckAccessAsync(new CheckAccessRequest { User = "admin", Resource = Node() }).ResponseAsync);
        Refusals.Is(StatusCode.PermissionDenied, $"access denied: user \"{name}\" may not read access (roles: access)", denied);
        AuditTrail.IsRefusal(await AuditTrail.LastAsync(_admin, "access.check", e => e.User == name), StatusCode.PermissionDenied, denied.Status.Detail);
    }
}
