using DeviceTrust.Client.Connection;
using DeviceTrust.Client.Profiles;
using DeviceTrust.Proto.V1;
using Grpc.Core;
using Grpc.Net.Client;

namespace DeviceTrust.EndToEnd.Tests;

/// <summary>
/// What the contract says about enrolling, as the seed guide has it: an administrator's token is enough to enroll the
/// device it was minted for, whatever the enrolling user's roles; registering and minting for oneself
/// (<c>--current-device</c>) needs the administrator's verbs.
/// </summary>
[Collection(SharedGatewayCollection.Name)]
public sealed class EnrollmentRightsTests(SharedGateway shared) : IDisposable
{
    private readonly GrpcChannel _admin = GatewayChannel.ForProfile(new ProfileStore(shared.Admin.Home).Load()!);

    public void Dispose() => _admin.Dispose();

    private static string NewSerial() => "ER" + Guid.NewGuid().ToString("N")[..10].ToUpperInvariant();

    private Cli AtDevice(Cli cli, string serial)
    {
        var file = shared.Path($"rights-{serial}.json");
        File.WriteAllText(file, $$"""{ "serialNumber": "{{serial}}", "osVersion": "12" }""");
        return cli.With("DTSH_DEVICE_DATA", file);
    }

    [Fact]
    public async Task A_user_without_any_device_verb_enrolls_with_an_administrators_token()
    {
        var serial = NewSerial();
        var added = (await shared.Admin.Dtctl("devices", "add", "--os", "linux", "--asset-tag", serial, "--enroll")).Succeeded().StdOut;
        var token = added.Split('\n').Single(l => l.StartsWith("dtsh device enroll --token=", StringComparison.Ordinal))["dtsh device enroll --token=".Length..].Trim();
        var (name, cli, _) = await shared.NewUserAsync("auditor");
        (await AtDevice(cli, serial).Dtsh("device", "enroll", "--token=" + token, "--software-key")).Succeeded();
        var device = (await new DeviceTrustService.DeviceTrustServiceClient(_admin).FindDevicesAsync(new FindDevicesRequest { IdOrTag = serial })).Devices.Single();
        Assert.Equal((DeviceEnrollStatus.Enrolled, name), (device.EnrollStatus, device.Owner));
        var audit = await AuditTrail.LastAsync(_admin, "device.enroll", e => e.AssetTag == serial);
        Assert.True(audit.Success);
        Assert.Contains("\"token_created_by\":\"admin\"", audit.Details);
    }

    [Fact]
    public async Task The_device_enroll_role_alone_cannot_register_a_device_for_itself()
    {
        var serial = NewSerial();
        var (name, cli, _) = await shared.NewUserAsync("device-enroll");
        var reason = $"access denied: user \"{name}\" may not read device (roles: device-enroll)";
        (await AtDevice(cli, serial).Dtsh("device", "enroll", "--current-device", "--software-key")).FailedWith(reason);
        Assert.Empty((await new DeviceTrustService.DeviceTrustServiceClient(_admin).FindDevicesAsync(new FindDevicesRequest { IdOrTag = serial })).Devices);
        AuditTrail.IsRefusal(await AuditTrail.LastAsync(_admin, "device.find", e => e.User == name), StatusCode.PermissionDenied, reason);
        // and with the verbs of device-admin it can
        var (_, admin, _) = await shared.NewUserAsync("device-admin");
        (await AtDevice(admin, serial).Dtsh("device", "enroll", "--current-device", "--software-key")).Succeeded();
    }
}
