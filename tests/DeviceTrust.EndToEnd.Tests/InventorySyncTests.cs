using System.Security.Cryptography;
using System.Text.Json;
using DeviceTrust.Client.Connection;
using DeviceTrust.Client.Devices;
using DeviceTrust.Client.Profiles;
using DeviceTrust.Proto.V1;
using DeviceTrust.Testing;
using Grpc.Core;
using Grpc.Net.Client;

namespace DeviceTrust.EndToEnd.Tests;

/// <summary>
/// <c>dtctl devices sync</c> and SyncInventory through the real gateway: created / updated / unchanged per device,
/// missing devices deleted only on the confirmation of exactly them, a malformed export refused with its line before
/// anything is sent, an owner change in the MDM unenrolling the device. Each test syncs its own MDM instance
/// (--source-name) so what is "missing" is only ever its own devices.
/// </summary>
[Collection(SharedGatewayCollection.Name)]
public sealed class InventorySyncTests(SharedGateway shared) : IDisposable
{
    private readonly GrpcChannel _admin = GatewayChannel.ForProfile(new ProfileStore(shared.Admin.Home).Load()!);
    private readonly string _prefix = "SY" + Guid.NewGuid().ToString("N")[..8].ToUpperInvariant();
    private readonly string _source = "jamf-" + Guid.NewGuid().ToString("N")[..8];

    public void Dispose() => _admin.Dispose();

    private DeviceTrustService.DeviceTrustServiceClient Devices => new(_admin);

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    private sealed record Mac(string Serial, string OsVersion, string User = "");

    private string Export(string name, IEnumerable<Mac> macs)
    {
        var path = shared.Path($"{_source}-{name}.json");
        var devices = macs.Select(m => new Dictionary<string, object>
        {
            ["os"] = "macos",
            ["serial_number"] = m.Serial,
            ["model_identifier"] = "MacBookPro18,3",
            ["os_version"] = m.OsVersion,
            ["os_build"] = "23F79",
            ["external_id"] = "jamf-" + m.Serial,
            ["assigned_user"] = m.User,
        });
        File.WriteAllText(path, JsonSerializer.Serialize(new { devices }, Indented));
        return path;
    }

    private Task<ProcessResult> Sync(string file, string stdin = "", params string[] more) =>
        shared.Admin.DtctlWithInput(stdin, ["devices", "sync", "--source", "jamf", "--source-name", _source, "--file", file, .. more]);

    private async Task<Dictionary<string, Device>> OfThisSourceAsync()
    {
        var found = new Dictionary<string, Device>();
        var request = new ListDevicesRequest { PageSize = 200 };
        do
        {
            var page = await Devices.ListDevicesAsync(request);
            foreach (var device in page.Devices.Where(d => d.SourceName == _source))
            {
                found[device.AssetTag] = device;
            }
            request.PageToken = page.NextPageToken;
        }
        while (request.PageToken.Length > 0);
        return found;
    }

    [Fact]
    public async Task A_second_sync_updates_exactly_the_changed_and_deletes_the_missing_only_when_that_list_is_confirmed()
    {
        var since = DateTimeOffset.UtcNow.AddSeconds(-1);
        var fleet = Enumerable.Range(1, 20).Select(i => new Mac($"{_prefix}{i:D2}", "14.5")).ToList();
        var first = (await Sync(Export("first", fleet))).Succeeded();
        Assert.Equal(20, first.StdOut.Split('\n').Count(l => l.StartsWith("created ", StringComparison.Ordinal)));
        Assert.Contains($"20 devices from {_source} in ", first.StdOut);
        Assert.Contains("20 created, 0 updated, 0 unchanged, 0 failed, 0 unenrolled", first.StdOut);
        var stored = await OfThisSourceAsync();
        Assert.Equal(20, stored.Count);
        var sample = stored[_prefix + "01"];
        Assert.Equal((DeviceSource.Jamf, "14.5", "jamf-" + _prefix + "01", "MacBookPro18,3"),
            (sample.Source, sample.Profile.OsVersion, sample.Profile.ExternalId, sample.Profile.ModelIdentifier));
        var shown = (await shared.Admin.Dtctl("devices", "get", "--asset-tag", _prefix + "01")).Succeeded();
        Assert.Contains($"Source:        Jamf ({_source})", shown.StdOut);
        Assert.Contains($"MDM profile:   model MacBookPro18,3, OS 14.5 build 23F79, MDM id jamf-{_prefix}01", shown.StdOut);

        // The MDM now: 3 devices updated to 14.6, 2 gone (19 and 20).
        var changed = new[] { "03", "07", "11" }.Select(n => _prefix + n).ToHashSet();
        var now = fleet.Take(18).Select(m => changed.Contains(m.Serial) ? m with { OsVersion = "14.6" } : m).ToList();
        var second = Export("second", now);

        var dry = (await Sync(second, "", "--track-missing", "--dry-run")).Succeeded();
        Assert.Contains("Dry run (nothing changed): 18 devices", dry.StdOut);
        Assert.Contains("0 created, 3 updated, 15 unchanged, 0 failed, 0 unenrolled; 2 missing, 0 deleted", dry.StdOut);
        Assert.Equal((await OfThisSourceAsync()).Values.Select(d => d.Profile.OsVersion).Order(), Enumerable.Repeat("14.5", 20));

        // Declined: updated, nothing deleted.
        var declined = (await Sync(second, "no\n", "--track-missing")).Succeeded();
        Assert.Equal(changed.Order(), declined.StdOut.Split('\n').Where(l => l.StartsWith("updated ", StringComparison.Ordinal))
            .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1].Split('/')[0]).Order());
        Assert.Contains("updated    " + _prefix + "03/macos: os_version", declined.StdOut);
        Assert.Contains($"Missing: 2 of the 20 devices from this source are not in the export:", declined.StdOut);
        Assert.Contains($"  {_prefix}19/macos", declined.StdOut);
        Assert.Contains($"  {_prefix}20/macos", declined.StdOut);
        Assert.Contains("Nothing deleted.", declined.StdOut);
        Assert.Contains("0 created, 3 updated, 15 unchanged, 0 failed, 0 unenrolled; 2 missing, 0 deleted", declined.StdOut);
        stored = await OfThisSourceAsync();
        Assert.Equal(20, stored.Count);
        Assert.Equal(changed.Order(), stored.Values.Where(d => d.Profile.OsVersion == "14.6").Select(d => d.AssetTag).Order());

        // Confirmed: exactly those two go (2 of 20 is not above 10 %, so one confirmation is enough).
        var confirmed = (await Sync(second, "delete 2\n", "--track-missing")).Succeeded();
        Assert.Contains("0 created, 0 updated, 18 unchanged, 0 failed, 0 unenrolled; 2 missing, 2 deleted", confirmed.StdOut);
        Assert.DoesNotContain("again to confirm", confirmed.StdErr);
        stored = await OfThisSourceAsync();
        Assert.Equal(now.Select(m => m.Serial).Order(), stored.Keys.Order());

        var deletions = await AuditTrail.EventsAsync(_admin, "device.delete", since);
        Assert.Equal([_prefix + "19", _prefix + "20"], deletions.Where(e => e.AssetTag.StartsWith(_prefix, StringComparison.Ordinal)).Select(e => e.AssetTag).Order());
        Assert.All(deletions.Where(e => e.AssetTag.StartsWith(_prefix, StringComparison.Ordinal)), e =>
            Assert.Equal($"device {e.AssetTag}/macos removed: {_source} no longer has it (confirmed)", e.Message));
        var updates = (await AuditTrail.EventsAsync(_admin, "device.update", since)).Where(e => e.AssetTag.StartsWith(_prefix, StringComparison.Ordinal)).ToList();
        Assert.Equal(3, updates.Count);
        Assert.All(updates, e => Assert.Equal($"device {e.AssetTag}/macos updated by a sync from {_source}: os_version", e.Message));
        var syncs = (await AuditTrail.EventsAsync(_admin, "device.sync", since)).Where(e => e.Target == _source).ToList();
        Assert.Equal(4, syncs.Count);
        Assert.Equal($"sync from {_source} (jamf): 18 devices, 0 created, 0 updated, 18 unchanged, 0 failed, 0 unenrolled, 2 missing, 2 deleted", syncs[^1].Message);
    }

    [Fact]
    public async Task A_malformed_row_is_reported_with_its_line_and_nothing_is_synced()
    {
        var since = DateTimeOffset.UtcNow.AddSeconds(-1);
        var path = shared.Path($"{_source}-jamf.csv");
        File.WriteAllText(path,
            "Computer Name,Serial Number,Model Identifier,Operating System Version,Operating System Build,Username,Jamf Pro Computer ID\n"
            + $"mac-1,{_prefix}A,Mac14\\,2,14.5,23F79,alice,1\n".Replace("\\,", ",", StringComparison.Ordinal)
            + $"mac-2,{_prefix}B,\"Mac14,2\",14.5,23F79,bob,2\n"
            + $"mac-3,{_prefix}C,\"Mac14,2\",14.5,23F79,carol,3\n");

        var refused = await Sync(path);

        Assert.NotEqual(0, refused.ExitCode);
        Assert.Contains("the inventory file has 1 problem(s); nothing was synced:\nline 2: not valid CSV: has 8 fields but 7 were expected", refused.StdErr);
        Assert.Empty(await OfThisSourceAsync());
        Assert.DoesNotContain(await AuditTrail.EventsAsync(_admin, "device.sync", since), e => e.Target == _source);

        // The same export, mended: Jamf's columns land in the profile (the OS is macOS for Jamf's computers).
        File.WriteAllText(path, File.ReadAllText(path).Replace("Mac14,2,14.5", "\"Mac14,2\",14.5", StringComparison.Ordinal));
        (await Sync(path)).Succeeded();
        var stored = await OfThisSourceAsync();
        Assert.Equal(3, stored.Count);
        Assert.Equal((OSType.Macos, "Mac14,2", "14.5", "23F79", "bob", "2"),
            (stored[_prefix + "B"].OsType, stored[_prefix + "B"].Profile.ModelIdentifier, stored[_prefix + "B"].Profile.OsVersion,
                stored[_prefix + "B"].Profile.OsBuild, stored[_prefix + "B"].Profile.AssignedUser, stored[_prefix + "B"].Profile.ExternalId));
    }

    [Fact]
    public async Task A_confirmation_that_does_not_name_exactly_the_missing_devices_deletes_nothing_and_is_audited()
    {
        (await Sync(Export("all", [new Mac(_prefix + "K1", "14.5"), new Mac(_prefix + "K2", "14.5"), new Mac(_prefix + "K3", "14.5")]))).Succeeded();
        var before = await OfThisSourceAsync();
        // A dry run with one new device: the share is of the 3 the source had, not counting the one it would add.
        var dry = (await Sync(Export("dry", [new Mac(_prefix + "K1", "14.5"), new Mac(_prefix + "K4", "14.5")]), "", "--track-missing", "--dry-run")).Succeeded();
        Assert.Contains("Missing: 2 of the 3 devices from this source are not in the export:", dry.StdOut);
        Assert.Contains("1 created, 0 updated, 1 unchanged, 0 failed, 0 unenrolled; 2 missing, 0 deleted", dry.StdOut);
        var since = DateTimeOffset.UtcNow.AddSeconds(-1);

        using var call = Devices.SyncInventory();
        await call.RequestStream.WriteAsync(new SyncInventoryRequest
        {
            Start = new SyncInventoryStart { Source = DeviceSource.Jamf, SourceName = _source, TrackMissing = true },
        });
        var kept = new SyncInventoryDevices
        {
            Devices =
            {
                new MdmDevice { OsType = OSType.Macos, SerialNumber = _prefix + "K1", Profile = before[_prefix + "K1"].Profile },
                // Refused (a control character), but named: the MDM has it, so it is not missing.
                new MdmDevice { OsType = OSType.Macos, SerialNumber = _prefix + "K2", Profile = new Proto.V1.DeviceProfile { OsVersion = "14\u0007" } },
            },
        };
        await call.RequestStream.WriteAsync(new SyncInventoryRequest { Devices = kept });
        Assert.True(await call.ResponseStream.MoveNext());
        var results = call.ResponseStream.Current.Results.Results;
        Assert.Equal([SyncOutcome.Unchanged, SyncOutcome.Failed], results.Select(r => r.Outcome));
        Assert.Equal(((int)StatusCode.InvalidArgument, "profile.os_version contains control characters"), (results[1].Code, results[1].Message));
        await call.RequestStream.WriteAsync(new SyncInventoryRequest { End = new SyncInventoryEnd() });
        Assert.True(await call.ResponseStream.MoveNext());
        var missing = call.ResponseStream.Current.Missing;
        Assert.Equal([_prefix + "K3"], missing.Devices.Select(d => d.AssetTag));
        // 1 of 3 is above 10 %: the server wants a second confirmation, but first the list is wrong (K1 is not missing).
        Assert.True(missing.ConfirmTwice);
        await call.RequestStream.WriteAsync(new SyncInventoryRequest
        {
            Confirm = new SyncInventoryConfirm { DeviceIds = { before[_prefix + "K1"].Id }, ConfirmedTwice = true },
        });
        var error = await Refusals.Of(() => call.ResponseStream.MoveNext());

        const string Reason = "the confirmation names 1 device(s), not exactly the 1 missing ones: nothing was deleted";
        Refusals.Is(StatusCode.FailedPrecondition, Reason, error);
        Assert.Equal(before.Keys.Order(), (await OfThisSourceAsync()).Keys.Order());
        var audited = await AuditTrail.LastAsync(_admin, "device.sync", e => e.Target == _source && e.Time.ToDateTimeOffset() >= since);
        AuditTrail.IsRefusal(audited, StatusCode.FailedPrecondition, Reason);
        var failedItem = await AuditTrail.LastAsync(_admin, "device.create", e => e.AssetTag == _prefix + "K2" && e.Time.ToDateTimeOffset() >= since);
        AuditTrail.IsRefusal(failedItem, StatusCode.InvalidArgument, "profile.os_version contains control characters");
        Assert.DoesNotContain(await AuditTrail.EventsAsync(_admin, "device.delete", since), e => e.AssetTag.StartsWith(_prefix, StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_confirm_twice_share_is_a_cluster_setting_from_1_to_100_percent()
    {
        var since = DateTimeOffset.UtcNow.AddSeconds(-1);
        var refused = await shared.Admin.Dtctl("config", "set", "sync-confirm-twice-percent", "0");

        refused.FailedWith("sync-confirm-twice-percent must be between 1 and 100, not 0");
        Assert.Contains("sync_confirm_twice_percent: 10", (await shared.Admin.Dtctl("config", "get")).Succeeded().StdOut);
        AuditTrail.IsRefusal(await AuditTrail.LastAsync(_admin, "cluster_config.update", e => e.Time.ToDateTimeOffset() >= since),
            StatusCode.InvalidArgument, "sync-confirm-twice-percent must be between 1 and 100, not 0");
        (await shared.Admin.Dtctl("config", "set", "sync-confirm-twice-percent", "abc")).FailedWith("sync-confirm-twice-percent takes a whole number from 1 to 100, not \"abc\"");

        try
        {
            Assert.Contains("sync_confirm_twice_percent: 50", (await shared.Admin.Dtctl("config", "set", "sync-confirm-twice-percent", "50%")).Succeeded().StdOut);
            (await Sync(Export("share-1", [new Mac(_prefix + "S1", "14.5"), new Mac(_prefix + "S2", "14.5"), new Mac(_prefix + "S3", "14.5")]))).Succeeded();
            // 1 of 3 is under 50 %: one confirmation deletes it.
            var once = (await Sync(Export("share-2", [new Mac(_prefix + "S1", "14.5"), new Mac(_prefix + "S2", "14.5")]), "delete 1\n", "--track-missing")).Succeeded();
            Assert.Contains("1 missing, 1 deleted", once.StdOut);
            Assert.DoesNotContain("again to confirm", once.StdErr);
        }
        finally
        {
            (await shared.Admin.Dtctl("config", "set", "sync-confirm-twice-percent", "10")).Succeeded();
        }
    }

    [Fact]
    public async Task A_missing_device_changed_after_it_was_listed_is_not_deleted()
    {
        (await Sync(Export("all", [new Mac(_prefix + "R1", "14.5"), new Mac(_prefix + "R2", "14.5"), new Mac(_prefix + "R3", "14.5")]))).Succeeded();
        var before = await OfThisSourceAsync();
        var since = DateTimeOffset.UtcNow.AddSeconds(-1);

        using var call = Devices.SyncInventory();
        await call.RequestStream.WriteAsync(new SyncInventoryRequest { Start = new SyncInventoryStart { Source = DeviceSource.Jamf, SourceName = _source, TrackMissing = true } });
        await call.RequestStream.WriteAsync(new SyncInventoryRequest
        {
            Devices = new SyncInventoryDevices { Devices = { new MdmDevice { OsType = OSType.Macos, SerialNumber = _prefix + "R1", Profile = before[_prefix + "R1"].Profile } } },
        });
        Assert.True(await call.ResponseStream.MoveNext());
        await call.RequestStream.WriteAsync(new SyncInventoryRequest { End = new SyncInventoryEnd() });
        Assert.True(await call.ResponseStream.MoveNext());
        var missing = call.ResponseStream.Current.Missing;
        Assert.Equal([_prefix + "R2", _prefix + "R3"], missing.Devices.Select(d => d.AssetTag));
        // Meanwhile an administrator sets R2's profile: the MDM's list is out of date for it.
        await Devices.UpdateDeviceAsync(new UpdateDeviceRequest { DeviceId = before[_prefix + "R2"].Id, Profile = new Proto.V1.DeviceProfile { OsVersion = "15.0" } });
        var confirm = new SyncInventoryConfirm { ConfirmedTwice = true };
        confirm.DeviceIds.AddRange(missing.Devices.Select(d => d.Id));
        await call.RequestStream.WriteAsync(new SyncInventoryRequest { Confirm = confirm });
        await call.RequestStream.CompleteAsync();
        Assert.True(await call.ResponseStream.MoveNext());

        Assert.Equal((2, 1), (call.ResponseStream.Current.Summary.Missing, call.ResponseStream.Current.Summary.Deleted));
        Assert.Equal([_prefix + "R1", _prefix + "R2"], (await OfThisSourceAsync()).Keys.Order());
        var refused = await AuditTrail.LastAsync(_admin, "device.delete", e => e.AssetTag == _prefix + "R2" && e.Time.ToDateTimeOffset() >= since);
        AuditTrail.IsRefusal(refused, StatusCode.Aborted, $"device {_prefix}R2/macos changed after this sync listed it missing: not deleted");
        Assert.True((await AuditTrail.LastAsync(_admin, "device.delete", e => e.AssetTag == _prefix + "R3" && e.Time.ToDateTimeOffset() >= since)).Success);
    }

    [Fact]
    public async Task A_device_the_MDM_gives_to_someone_else_is_unenrolled_and_that_is_audited()
    {
        var serial = _prefix + "OWN";
        (await Sync(Export("owner-1", [new Mac(serial, "14.5", "alice@example.com")]))).Succeeded();
        var device = (await OfThisSourceAsync())[serial];
        var token = await Devices.CreateDeviceEnrollTokenAsync(new CreateDeviceEnrollTokenRequest { DeviceId = device.Id });
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var data = new DeviceCollectedData
        {
            CollectTime = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow),
            OsType = OSType.Macos,
            SerialNumber = serial,
            ModelIdentifier = "MacBookPro18,3",
            OsVersion = "14.5",
            OsBuild = "23F79",
            OsUsername = "alice",
        };
        var enrolled = await DeviceCeremonies.EnrollAsync(_admin, token.Token, "cred-own", key, data, default);
        Assert.Equal(DeviceEnrollStatus.Enrolled, enrolled.EnrollStatus);
        var since = DateTimeOffset.UtcNow.AddSeconds(-1);

        var moved = (await Sync(Export("owner-2", [new Mac(serial, "14.5", "bob@example.com")]))).Succeeded();

        Assert.Contains($"updated    {serial}/macos: assigned_user (unenrolled: the MDM assigned it to someone else)", moved.StdOut);
        Assert.Contains("0 created, 1 updated, 0 unchanged, 0 failed, 1 unenrolled", moved.StdOut);
        var after = await Devices.GetDeviceAsync(new GetDeviceRequest { DeviceId = device.Id });
        Assert.Equal((DeviceEnrollStatus.NotEnrolled, "", "bob@example.com"), (after.EnrollStatus, after.Owner, after.Profile.AssignedUser));
        var audited = await AuditTrail.LastAsync(_admin, "device.update", e => e.DeviceId == device.Id && e.Time.ToDateTimeOffset() >= since);
        Assert.Equal($"device {serial}/macos updated by a sync from {_source}: assigned_user; unenrolled: the MDM assigns it to bob@example.com now, not alice@example.com",
            audited.Message);
        Assert.True(audited.Success);

        // mdm-owner-change keep: the next owner change is recorded, and the enrolled device stays enrolled.
        (await shared.Admin.Dtctl("config", "set", "mdm-owner-change", "keep")).Succeeded();
        try
        {
            token = await Devices.CreateDeviceEnrollTokenAsync(new CreateDeviceEnrollTokenRequest { DeviceId = device.Id });
            await DeviceCeremonies.EnrollAsync(_admin, token.Token, "cred-own-2", key, data, default);
            var kept = (await Sync(Export("owner-3", [new Mac(serial, "14.5", "carol@example.com")]))).Succeeded();
            Assert.Contains($"updated    {serial}/macos: assigned_user\n", kept.StdOut.ReplaceLineEndings("\n"));
            after = await Devices.GetDeviceAsync(new GetDeviceRequest { DeviceId = device.Id });
            Assert.Equal((DeviceEnrollStatus.Enrolled, "carol@example.com"), (after.EnrollStatus, after.Profile.AssignedUser));
        }
        finally
        {
            (await shared.Admin.Dtctl("config", "set", "mdm-owner-change", "unenroll")).Succeeded();
        }
    }
}
