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

/// <summary>
/// Who may authenticate a device (its owner, and the users an administrator adds), and ceremonies that cannot
/// disturb each other: a challenge belongs to its own stream.
/// </summary>
[Collection(SharedGatewayCollection.Name)]
public sealed class DeviceSharingTests(SharedGateway shared) : IDisposable
{
    private readonly GrpcChannel _admin = GatewayChannel.ForProfile(new ProfileStore(shared.Admin.Home).Load()!);
    private readonly ECDsa _deviceKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    public void Dispose()
    {
        _admin.Dispose();
        _deviceKey.Dispose();
    }

    private DeviceTrustService.DeviceTrustServiceClient Devices => new(_admin);

    private static DeviceCollectedData Data(string serial) => new() { OsType = OSType.Linux, SerialNumber = serial, OsVersion = "12" };

    private async Task<(string Name, GrpcChannel Channel)> PersonAsync()
    {
        var (name, cli, _) = await shared.NewUserAsync("access");
        return (name, GatewayChannel.ForProfile(new ProfileStore(cli.Home).Load()!));
    }

    /// <summary>A device in the inventory, enrolled by <paramref name="owner"/> with the device key of this test.</summary>
    private async Task<Device> EnrolledByAsync(GrpcChannel owner)
    {
        var serial = "SH" + Guid.NewGuid().ToString("N")[..10].ToUpperInvariant();
        var created = await Devices.CreateDeviceAsync(new CreateDeviceRequest { OsType = OSType.Linux, AssetTag = serial, CreateEnrollToken = true });
        return await DeviceCeremonies.EnrollAsync(owner, created.EnrollToken.Token, "cred-" + serial, _deviceKey, Data(serial), default);
    }

    private static async Task<(AsyncDuplexStreamingCall<AuthenticateDeviceRequest, AuthenticateDeviceResponse> Call, byte[] Challenge)> BeginAsync(GrpcChannel channel, Device device)
    {
        var call = new DeviceTrustService.DeviceTrustServiceClient(channel).AuthenticateDevice();
        await call.RequestStream.WriteAsync(new AuthenticateDeviceRequest
        {
            Init = new AuthenticateDeviceInit { CredentialId = "cred-" + device.AssetTag, DeviceData = Data(device.AssetTag), DeviceId = device.Id },
        });
        Assert.True(await call.ResponseStream.MoveNext());
        return (call, call.ResponseStream.Current.KeyChallenge.Challenge.ToByteArray());
    }

    private async Task<X509Certificate2> AnswerAsync(AsyncDuplexStreamingCall<AuthenticateDeviceRequest, AuthenticateDeviceResponse> call, byte[] challenge)
    {
        await call.RequestStream.WriteAsync(new AuthenticateDeviceRequest
        {
            KeyChallengeResponse = new KeyChallengeResponse { Signature = ByteString.CopyFrom(Core.Devices.KeyChallenge.Sign(_deviceKey, challenge)) },
        });
        Assert.True(await call.ResponseStream.MoveNext());
        return X509CertificateLoader.LoadCertificate(call.ResponseStream.Current.UserCertificates.X509Der.Span);
    }

    [Fact]
    public async Task Someone_else_cannot_use_or_disturb_a_device_and_its_owners_ceremonies_run_side_by_side()
    {
        var (_, bob) = await PersonAsync();
        var (mallory, malloryChannel) = await PersonAsync();
        using (bob)
        using (malloryChannel)
        {
            var device = await EnrolledByAsync(bob);
            var first = await BeginAsync(bob, device);
            var second = await BeginAsync(bob, device);

            // mallory knows the device id (it is in certificates and the audit log) and starts a ceremony for it
            using var call = new DeviceTrustService.DeviceTrustServiceClient(malloryChannel).AuthenticateDevice();
            await call.RequestStream.WriteAsync(new AuthenticateDeviceRequest
            {
                Init = new AuthenticateDeviceInit { CredentialId = "cred-" + device.AssetTag, DeviceData = Data(device.AssetTag), DeviceId = device.Id },
            });
            var refused = await Refusals.Of(() => call.ResponseStream.MoveNext());
            var reason = $"user {mallory} may not authenticate device {device.AssetTag}/linux: it was enrolled by {device.Owner} (user id {device.OwnerId}); " +
                         $"an administrator can allow it with: dtctl devices update --device-id {device.Id} --add-user {mallory}";
            Refusals.Is(StatusCode.PermissionDenied, reason, refused);
            AuditTrail.IsRefusal(await AuditTrail.LastAsync(_admin, "device.authenticate", e => e.User == mallory && e.DeviceId == device.Id),
                StatusCode.PermissionDenied, reason);

            // both of the owner's ceremonies still work, answered in either order
            using var later = await AnswerAsync(second.Call, second.Challenge);
            using var earlier = await AnswerAsync(first.Call, first.Challenge);
            Assert.Equal(device.Id, Core.Certificates.DeviceExtensions.Read(later)!.DeviceId);
            Assert.Equal(device.Id, Core.Certificates.DeviceExtensions.Read(earlier)!.DeviceId);
            first.Call.Dispose();
            second.Call.Dispose();
            // the refusal recorded nothing on the device
            var record = await Devices.GetDeviceAsync(new GetDeviceRequest { DeviceId = device.Id });
            Assert.Equal(3, record.CollectedData.Count);
            Assert.Empty(record.Users);
        }
    }

    [Fact]
    public async Task An_administrator_can_share_a_device_and_take_it_back()
    {
        var (_, bob) = await PersonAsync();
        var (carol, carolChannel) = await PersonAsync();
        using (bob)
        using (carolChannel)
        {
            var device = await EnrolledByAsync(bob);
            await Refusals.Of(() => DeviceCeremonies.AuthenticateAsync(carolChannel, device.Id, "cred-" + device.AssetTag, _deviceKey, Data(device.AssetTag), default));

            var shared_ = (await shared.Admin.Dtctl("devices", "update", "--asset-tag", device.AssetTag, "--add-user", carol)).Succeeded().StdOut;
            Assert.Contains($"users {carol}", shared_);
            var update = await AuditTrail.LastAsync(_admin, "device.update", e => e.DeviceId == device.Id);
            Assert.True(update.Success);
            Assert.Contains($"\"users\":{{\"before\":[],\"after\":[\"{carol}\"]}}", update.Details);
            Assert.Contains(carol, (await shared.Admin.Dtctl("devices", "get", "--device-id", device.Id)).Succeeded().StdOut);

            var der = (await DeviceCeremonies.AuthenticateAsync(carolChannel, device.Id, "cred-" + device.AssetTag, _deviceKey, Data(device.AssetTag), default)).X509Der.ToByteArray();
            using (var certificate = X509CertificateLoader.LoadCertificate(der))
            {
                Assert.Equal(carol, certificate.GetNameInfo(X509NameType.SimpleName, false));
                Assert.Equal(device.Id, Core.Certificates.DeviceExtensions.Read(certificate)!.DeviceId);
            }

            (await shared.Admin.Dtctl("devices", "update", "--asset-tag", device.AssetTag, "--remove-user", carol)).Succeeded();
            var refused = await Refusals.Of(() => DeviceCeremonies.AuthenticateAsync(carolChannel, device.Id, "cred-" + device.AssetTag, _deviceKey, Data(device.AssetTag), default));
            Assert.Equal(StatusCode.PermissionDenied, refused.StatusCode);
            Assert.StartsWith($"user {carol} may not authenticate device {device.AssetTag}/linux", refused.Status.Detail);
            (await shared.Admin.Dtctl("devices", "update", "--asset-tag", device.AssetTag, "--add-user", "nobody-" + carol)).FailedWith($"user \"nobody-{carol}\" not found");
        }
    }
}
