using DeviceTrust.Core.Audit;
using DeviceTrust.Core.Devices;
using DeviceTrust.Core.Errors;
using DeviceTrust.Grains.Inventory;
using DeviceTrust.Silo.Database;
using DeviceTrust.Testing;

namespace DeviceTrust.Grains.Tests;

/// <summary>
/// Bulk creation writes the grains' rows without the grains: the grains must read and write those rows as their own,
/// a tag that any row holds must never be overwritten, and a device is there with its audit event or not at all.
/// Same suite on SQLite and PostgreSQL.
/// </summary>
public abstract class DeviceImportContract : IAsyncLifetime
{
    private SiloHarness _silo = null!;

    protected abstract Task<Silo.Hosting.DeviceTrustHostOptions> DatabaseAsync();

    public async Task InitializeAsync() => _silo = await SiloHarness.StartAsync(await DatabaseAsync());

    public async Task DisposeAsync() => await _silo.DisposeAsync();

    private DeviceImport Import => new(_silo.Options, SiloHarness.ServiceId, TimeProvider.System);

    private AuditLog Audit => new(_silo.Options);

    private static string Prefix() => "BLK" + Guid.NewGuid().ToString("N")[..6].ToUpperInvariant();

    private static AuditEntry Event(DeviceRecord device) =>
        new(DateTimeOffset.UtcNow, AuditCodes.DeviceCreate, true, "admin", device.Id.ToString(), device.AssetTag, device.OsType.ToText(), "", "127.0.0.1",
            $"device {device.AssetTag} added (bulk)");

    private Task<IReadOnlyList<AuditEntry>> EventsAsync(string tagPrefix) =>
        Audit.ListAsync(new AuditQuery(DateTimeOffset.UtcNow.AddMinutes(-5), null, AuditCodes.DeviceCreate, null, null, null, 0, 1000), default)
            .ContinueWith(t => (IReadOnlyList<AuditEntry>)t.Result.Where(e => e.AssetTag.StartsWith(tagPrefix, StringComparison.Ordinal)).ToList());

    [Fact]
    public async Task Bulk_rows_are_read_and_written_by_the_grains_as_their_own()
    {
        var prefix = Prefix();
        var outcomes = await Import.CreateAsync([new NewDevice(OsType.Linux, prefix + "A"), new NewDevice(OsType.MacOS, prefix + "B", EkPin.Parse("sha256:" + new string('a', 64)))],
            DeviceSource.Api, "admin", Event, default);

        Assert.Equal([ImportResult.Created, ImportResult.Created], outcomes.Select(o => o.Result));
        var a = await _silo.Grains.GetGrain<IDeviceGrain>(outcomes[0].DeviceId).GetAsync();
        Assert.NotNull(a);
        Assert.Equal((OsType.Linux, prefix + "A", EnrollStatus.NotEnrolled, DeviceSource.Api, "admin"), (a.OsType, a.AssetTag, a.EnrollStatus, a.Source, a.CreatedBy));
        Assert.Equal(EkPin.Parse("sha256:" + new string('a', 64)), (await _silo.Grains.GetGrain<IDeviceGrain>(outcomes[1].DeviceId).GetAsync())!.PinnedEkSha256);
        Assert.Equal(outcomes[0].DeviceId, await _silo.Grains.GetGrain<IAssetTagGrain>(AssetTags.Key(OsType.Linux, prefix + "A")).GetAsync());

        // The provider finds the rows by their hash columns and updates them from version 1: a wrong column would be a
        // missing state here, or a version conflict on the write.
        var change = await _silo.Grains.GetGrain<IDeviceGrain>(outcomes[0].DeviceId).UpdateAsync(new DeviceUpdate(false, null, [], [], EkPin.Parse("sha256:" + new string('b', 64))));
        Assert.Equal(EkPin.Parse("sha256:" + new string('b', 64)), change.After.PinnedEkSha256);
        var refused = await Assert.ThrowsAsync<DeviceTrustException>(() =>
            _silo.Grains.GetGrain<IAssetTagGrain>(AssetTags.Key(OsType.Linux, prefix + "A")).CreateDeviceAsync(Guid.NewGuid(), OsType.Linux, prefix + "A", DeviceSource.Api, "admin"));
        Assert.Equal(ErrorKind.AlreadyExists, refused.Kind);
        // Deleting frees the tag (the tag grain deletes the bulk-written row from its version).
        await _silo.Grains.GetGrain<IDeviceGrain>(outcomes[0].DeviceId).DeleteAsync();
        await _silo.Grains.GetGrain<IAssetTagGrain>(AssetTags.Key(OsType.Linux, prefix + "A")).ReleaseAsync(outcomes[0].DeviceId);
        Assert.Null(await _silo.Grains.GetGrain<IAssetTagGrain>(AssetTags.Key(OsType.Linux, prefix + "A")).GetAsync());

        var listed = await new DeviceInventoryQuery(_silo.Options, SiloHarness.ServiceId).ListAsync(200, "", default);
        Assert.Contains(listed.Items, d => d.Id == outcomes[1].DeviceId);
        Assert.Equal([prefix + "A", prefix + "B"], (await EventsAsync(prefix)).Select(e => e.AssetTag).Order());
    }

    [Fact]
    public async Task A_held_tag_is_refused_with_its_holder_and_left_as_it_was()
    {
        var prefix = Prefix();
        var tag = _silo.Grains.GetGrain<IAssetTagGrain>(AssetTags.Key(OsType.Windows, prefix + "HELD"));
        var held = await tag.CreateDeviceAsync(Guid.NewGuid(), OsType.Windows, prefix + "HELD", DeviceSource.Api, "someone");

        var outcomes = await Import.CreateAsync([new NewDevice(OsType.Windows, prefix + "HELD"), new NewDevice(OsType.Linux, prefix + "HELD")],
            DeviceSource.Api, "admin", Event, default);

        Assert.Equal(new ImportOutcome(ImportResult.AlreadyExists, held.Id), outcomes[0]);
        Assert.Equal(ImportResult.Created, outcomes[1].Result);
        Assert.Equivalent(held, await _silo.Grains.GetGrain<IDeviceGrain>(held.Id).GetAsync(), strict: true);
        Assert.Equal(held.Id, await tag.GetAsync());
        Assert.Equal([OsType.Linux.ToText()], (await EventsAsync(prefix)).Select(e => e.OsType));
    }

    [Fact]
    public async Task A_tag_grain_that_saw_the_tag_free_reads_it_again()
    {
        var prefix = Prefix();
        var tag = _silo.Grains.GetGrain<IAssetTagGrain>(AssetTags.Key(OsType.Linux, prefix + "SEEN"));
        Assert.Null(await tag.GetAsync());
        var other = _silo.Grains.GetGrain<IAssetTagGrain>(AssetTags.Key(OsType.MacOS, prefix + "SEEN"));
        Assert.Null(await other.GetAsync());

        var outcomes = await Import.CreateAsync([new NewDevice(OsType.Linux, prefix + "SEEN"), new NewDevice(OsType.MacOS, prefix + "SEEN")],
            DeviceSource.Api, "admin", Event, default);

        // A creation reads again at once; a lookup within FreeTagStaleness of its last read.
        var refused = await Assert.ThrowsAsync<DeviceTrustException>(() =>
            tag.CreateDeviceAsync(Guid.NewGuid(), OsType.Linux, prefix + "SEEN", DeviceSource.Api, "admin"));
        Assert.Equal(ErrorKind.AlreadyExists, refused.Kind);
        Assert.Equal(outcomes[0].DeviceId, await tag.GetAsync());
        _silo.Clock.Advance(AssetTagGrain.FreeTagStaleness + TimeSpan.FromSeconds(1));
        Assert.Equal(outcomes[1].DeviceId, await other.GetAsync());
    }

    [Fact]
    public async Task A_tag_whose_device_is_gone_is_left_to_the_tag_grain()
    {
        var prefix = Prefix();
        var tag = _silo.Grains.GetGrain<IAssetTagGrain>(AssetTags.Key(OsType.Linux, prefix + "GONE"));
        var gone = await tag.CreateDeviceAsync(Guid.NewGuid(), OsType.Linux, prefix + "GONE", DeviceSource.Api, "admin");
        await _silo.Grains.GetGrain<IDeviceGrain>(gone.Id).DeleteAsync(); // a delete that stopped before the tag was released

        var outcomes = await Import.CreateAsync([new NewDevice(OsType.Linux, prefix + "GONE")], DeviceSource.Api, "admin", Event, default);

        Assert.Equal(new ImportOutcome(ImportResult.Contested, Guid.Empty), outcomes[0]);
        Assert.Empty(await EventsAsync(prefix));
        // The grain takes the tag over, as it does for a single CreateDevice.
        var taken = await tag.CreateDeviceAsync(Guid.NewGuid(), OsType.Linux, prefix + "GONE", DeviceSource.Api, "admin");
        Assert.Equal(taken.Id, await tag.GetAsync());
    }

    [Fact]
    public async Task A_batch_that_fails_half_way_writes_nothing()
    {
        var prefix = Prefix();
        var devices = Enumerable.Range(0, 5).Select(i => new NewDevice(OsType.Linux, $"{prefix}{i}")).ToList();
        var made = 0;

        await Assert.ThrowsAsync<InvalidOperationException>(() => Import.CreateAsync(devices, DeviceSource.Api, "admin",
            device => ++made == 4 ? throw new InvalidOperationException("the audit event could not be made") : Event(device), default));

        Assert.Equal(4, made);
        foreach (var device in devices)
        {
            Assert.Null(await _silo.Grains.GetGrain<IAssetTagGrain>(AssetTags.Key(device.OsType, device.AssetTag)).GetAsync());
        }
        Assert.DoesNotContain((await new DeviceInventoryQuery(_silo.Options, SiloHarness.ServiceId).ListAsync(200, "", default)).Items,
            d => d.AssetTag.StartsWith(prefix, StringComparison.Ordinal));
        Assert.Empty(await EventsAsync(prefix));
        // And the same devices can be created afterwards.
        Assert.All(await Import.CreateAsync(devices, DeviceSource.Api, "admin", Event, default), o => Assert.Equal(ImportResult.Created, o.Result));
    }

    [Fact]
    public async Task A_repeated_tag_in_one_call_is_a_caller_error()
    {
        var prefix = Prefix();
        await Assert.ThrowsAsync<ArgumentException>(() => Import.CreateAsync(
            [new NewDevice(OsType.Linux, prefix + "X"), new NewDevice(OsType.Linux, prefix + "X")], DeviceSource.Api, "admin", Event, default));
        Assert.Null(await _silo.Grains.GetGrain<IAssetTagGrain>(AssetTags.Key(OsType.Linux, prefix + "X")).GetAsync());
    }
}

public sealed class SqliteDeviceImportTests : DeviceImportContract, IDisposable
{
    private readonly TempDirectory _directory = new("dt-sqlite-import");

    protected override Task<Silo.Hosting.DeviceTrustHostOptions> DatabaseAsync() => Task.FromResult(SiloHarness.Sqlite(_directory.Path));

    public void Dispose() => _directory.Dispose();
}

public sealed class PostgresDeviceImportTests : DeviceImportContract
{
    protected override async Task<Silo.Hosting.DeviceTrustHostOptions> DatabaseAsync() =>
        SiloHarness.Postgres(await (await PostgresServer.SharedAsync()).CreateDatabaseAsync());
}
