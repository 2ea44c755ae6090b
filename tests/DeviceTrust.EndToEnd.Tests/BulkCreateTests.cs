using System.Text.Json;
using DeviceTrust.Client.Connection;
using DeviceTrust.Client.Profiles;
using DeviceTrust.Proto.V1;
using Grpc.Core;
using Grpc.Net.Client;

namespace DeviceTrust.EndToEnd.Tests;

/// <summary>
/// BulkCreateDevices through the real gateway: one answer per device in request order, each refusal with its reason
/// and its audit event, each creation with its event, and nothing written for a refused device or a refused call.
/// </summary>
[Collection(SharedGatewayCollection.Name)]
public sealed class BulkCreateTests(SharedGateway shared) : IDisposable
{
    private readonly GrpcChannel _admin = GatewayChannel.ForProfile(new ProfileStore(shared.Admin.Home).Load()!);

    public void Dispose() => _admin.Dispose();

    private DeviceTrustService.DeviceTrustServiceClient Devices => new(_admin);

    private static string Prefix() => "BK" + Guid.NewGuid().ToString("N")[..8].ToUpperInvariant();

    private async Task<List<Device>> FindAsync(string tag) => (await Devices.FindDevicesAsync(new FindDevicesRequest { IdOrTag = tag })).Devices.ToList();

    [Fact]
    public async Task Each_device_gets_its_own_answer_in_order_and_its_own_audit_event()
    {
        var p = Prefix();
        var since = DateTimeOffset.UtcNow.AddSeconds(-1);
        var existing = await Devices.CreateDeviceAsync(new CreateDeviceRequest { OsType = OSType.Linux, AssetTag = p + "OLD" });
        var pin = "sha256:" + new string('c', 64);

        var response = await Devices.BulkCreateDevicesAsync(new BulkCreateDevicesRequest
        {
            Devices =
            {
                new BulkDevice { OsType = OSType.Linux, AssetTag = p + "A" },
                new BulkDevice { OsType = OSType.Macos, AssetTag = p + "B", EkSha256 = pin },
                new BulkDevice { OsType = OSType.Linux, AssetTag = p + "OLD" },
                new BulkDevice { OsType = OSType.Linux, AssetTag = p + " SPACE" },
                new BulkDevice { OsType = OSType.Unspecified, AssetTag = p + "C" },
                new BulkDevice { OsType = OSType.Linux, AssetTag = p + "A" },
                new BulkDevice { OsType = OSType.Windows, AssetTag = p + "A" },
            },
        });

        Assert.Equal((3, 4), (response.Created, response.Failed));
        Assert.Equal([0, 0, 6, 3, 3, 6, 0], response.Results.Select(r => r.Code));
        Assert.Equal(
        [
            "", "", $"device {p}OLD/linux is already in the inventory", "asset_tag may hold printable ASCII only, without spaces",
            "os_type is required: linux, macos or windows", $"device {p}A/linux is already in this request (device #1)", "",
        ], response.Results.Select(r => r.Message));
        Assert.Equal([p + "A", p + "B", p + "OLD", p + " SPACE", p + "C", p + "A", p + "A"], response.Results.Select(r => r.AssetTag));
        Assert.Equal(existing.Id, response.Results[2].DeviceId);
        Assert.Equal(["", "", ""], new[] { 3, 4, 5 }.Select(i => response.Results[i].DeviceId));

        // What was created is what was answered; what was refused changed nothing.
        var a = await FindAsync(p + "A");
        Assert.Equal([response.Results[0].DeviceId, response.Results[6].DeviceId], a.Select(d => d.Id));
        Assert.Equal([OSType.Linux, OSType.Windows], a.Select(d => d.OsType));
        Assert.All(a, d => Assert.Equal((DeviceEnrollStatus.NotEnrolled, DeviceSource.Api), (d.EnrollStatus, d.Source)));
        Assert.Equal(pin, (await FindAsync(p + "B")).Single().PinnedEkSha256);
        Assert.Equal(existing, (await FindAsync(p + "OLD")).Single());
        Assert.Empty(await FindAsync(p + "C"));

        // One device.create event per device, named by its place in the request. The two that are not valid devices
        // have no tag to be found by (only this class makes bulk calls, one test at a time).
        var events = (await AuditTrail.EventsAsync(_admin, "device.create", since))
            .Where(e => e.Details.Contains("\"bulk_item\"", StringComparison.Ordinal) && (e.AssetTag.StartsWith(p, StringComparison.Ordinal) || e.AssetTag.Length == 0))
            .ToDictionary(e => JsonDocument.Parse(e.Details).RootElement.GetProperty("bulk_item").GetInt32());
        Assert.Equal([1, 2, 3, 4, 5, 6, 7], events.Keys.Order());
        Assert.True(events[1].Success);
        Assert.Equal(response.Results[0].DeviceId, events[1].DeviceId);
        Assert.Equal($"device {p}B/macos added to the inventory (bulk), EK pinned ({pin})", events[2].Message);
        AuditTrail.IsRefusal(events[3], StatusCode.AlreadyExists, $"device {p}OLD/linux is already in the inventory");
        AuditTrail.IsRefusal(events[4], StatusCode.InvalidArgument, "asset_tag may hold printable ASCII only, without spaces");
        AuditTrail.IsRefusal(events[5], StatusCode.InvalidArgument, "os_type is required: linux, macos or windows");
        AuditTrail.IsRefusal(events[6], StatusCode.AlreadyExists, $"device {p}A/linux is already in this request (device #1)");
        Assert.True(events[7].Success);
        Assert.Equal(response.Results[6].DeviceId, events[7].DeviceId);
        var call = await AuditTrail.LastAsync(_admin, "device.bulk_create", e => e.Message == "7 devices: 3 added to the inventory, 4 refused");
        Assert.True(call.Success);
        Assert.Equal("admin", call.User);
    }

    [Fact]
    public async Task Without_the_right_to_create_devices_the_call_is_refused_changes_nothing_and_is_audited()
    {
        var (who, cli, _) = await shared.NewUserAsync("access");
        using var channel = GatewayChannel.ForProfile(new ProfileStore(cli.Home).Load()!);
        var tag = Prefix();

        var error = await Refusals.Of(() => new DeviceTrustService.DeviceTrustServiceClient(channel)
            .BulkCreateDevicesAsync(new BulkCreateDevicesRequest { Devices = { new BulkDevice { OsType = OSType.Linux, AssetTag = tag } } }).ResponseAsync);

        var reason = $"access denied: user \"{who}\" may not create device (roles: access)";
        Refusals.Is(StatusCode.PermissionDenied, reason, error);
        Assert.Empty(await FindAsync(tag));
        AuditTrail.IsRefusal(await AuditTrail.LastAsync(_admin, "device.bulk_create", e => e.User == who), StatusCode.PermissionDenied, reason);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1001)]
    public async Task A_call_with_no_devices_or_too_many_is_refused_whole(int count)
    {
        var p = Prefix();
        var request = new BulkCreateDevicesRequest();
        request.Devices.AddRange(Enumerable.Range(0, count).Select(i => new BulkDevice { OsType = OSType.Linux, AssetTag = $"{p}{i}" }));

        var error = await Refusals.Of(() => Devices.BulkCreateDevicesAsync(request).ResponseAsync);

        var reason = $"devices: between 1 and 1000 per call, not {count}";
        Refusals.Is(StatusCode.InvalidArgument, reason, error);
        Assert.Empty(await FindAsync(p + "0"));
        AuditTrail.IsRefusal(await AuditTrail.LastAsync(_admin, "device.bulk_create", e => e.Message == reason), StatusCode.InvalidArgument, reason);
    }
}
