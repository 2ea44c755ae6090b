using System.Data.Common;
using DeviceTrust.Core.Audit;
using DeviceTrust.Core.Devices;
using DeviceTrust.Grains.Inventory;
using DeviceTrust.Silo.Database;
using DeviceTrust.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace DeviceTrust.Grains.Tests;

/// <summary>
/// The parts that read and write the database directly: the append-only audit log and the inventory query over the
/// device rows. Same suite on SQLite and PostgreSQL.
/// </summary>
public abstract class ReadModelContract : IAsyncLifetime
{
    private SiloHarness _silo = null!;

    protected abstract Task<Silo.Hosting.DeviceTrustHostOptions> DatabaseAsync();

    protected SiloHarness Silo => _silo;

    public async Task InitializeAsync() => _silo = await SiloHarness.StartAsync(await DatabaseAsync());

    public async Task DisposeAsync() => await _silo.DisposeAsync();

    private AuditLog Audit => new(_silo.Options);

    private DeviceInventoryQuery Inventory => new(_silo.Options, SiloHarness.ServiceId);

    private static AuditQuery Query(DateTimeOffset since, string type, long after, int limit) => new(since, null, type, null, null, null, after, limit);

    private static AuditEntry Entry(string type, string message, DateTimeOffset? time = null) =>
        new(time ?? DateTimeOffset.UtcNow, type, true, "alice", Guid.NewGuid().ToString(), "TAG", "linux", "cred", "127.0.0.1", message);

    [Fact]
    public async Task Audit_events_come_back_in_order_with_every_field()
    {
        var type = "test." + Guid.NewGuid().ToString("N")[..8];
        await Audit.AppendAsync(Entry(type, "first"));
        await Audit.AppendAsync(Entry(type, "second") with { Success = false, User = "bob" });
        var events = await Audit.ListAsync(Query(DateTimeOffset.UtcNow.AddMinutes(-1), type, 0, 10), default);
        Assert.Equal(["first", "second"], events.Select(e => e.Message));
        Assert.True(events[0].Success);
        Assert.False(events[1].Success);
        Assert.Equal("bob", events[1].User);
        Assert.Equal("127.0.0.1", events[1].ClientIp);
        Assert.True(events[1].Id > events[0].Id);
        Assert.Equal(["second"], (await Audit.ListAsync(Query(DateTimeOffset.MinValue, type, events[0].Id, 10), default)).Select(e => e.Message));
    }

    [Fact]
    public async Task Audit_events_older_than_since_are_left_out()
    {
        var type = "test." + Guid.NewGuid().ToString("N")[..8];
        await Audit.AppendAsync(Entry(type, "old", DateTimeOffset.UtcNow.AddHours(-3)));
        await Audit.AppendAsync(Entry(type, "new"));
        Assert.Equal(["new"], (await Audit.ListAsync(Query(DateTimeOffset.UtcNow.AddHours(-1), type, 0, 10), default)).Select(e => e.Message));
    }

    [Theory]
    [InlineData("UPDATE audit_event SET message = 'rewritten'")]
    [InlineData("DELETE FROM audit_event")]
    public async Task The_audit_log_refuses_updates_and_deletes(string sql)
    {
        await Audit.AppendAsync(Entry("test.append-only", "kept"));
        await using var connection = DatabaseSchema.Open(_silo.Options.Storage, _silo.Options.Storage.ConnectionStringFor(_silo.Options));
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        var error = await Assert.ThrowsAnyAsync<DbException>(() => command.ExecuteNonQueryAsync());
        Assert.Contains("append-only", error.Message);
        Assert.Contains(await Audit.ListAsync(Query(DateTimeOffset.MinValue, "test.append-only", 0, 1000), default), e => e.Message == "kept");
    }

    [Fact]
    public async Task The_inventory_lists_devices_in_tag_order_a_page_at_a_time()
    {
        var prefix = "INV" + Guid.NewGuid().ToString("N")[..6].ToUpperInvariant();
        var created = new List<DeviceRecord>();
        foreach (var (tag, os) in new[] { ("C", OsType.Linux), ("A", OsType.MacOS), ("B", OsType.Linux), ("A", OsType.Linux), ("D", OsType.Windows) })
        {
            created.Add(await _silo.Grains.GetGrain<IAssetTagGrain>(AssetTags.Key(os, prefix + tag)).CreateDeviceAsync(Guid.NewGuid(), os, prefix + tag, DeviceSource.Api, "admin"));
        }
        var seen = new List<DeviceRecord>();
        var token = "";
        do
        {
            var (page, next) = await Inventory.ListAsync(2, token, default);
            Assert.True(page.Count <= 2);
            seen.AddRange(page.Where(d => d.AssetTag.StartsWith(prefix, StringComparison.Ordinal)));
            token = next;
        }
        while (token.Length > 0);
        Assert.Equal([$"{prefix}A/Linux", $"{prefix}A/MacOS", $"{prefix}B/Linux", $"{prefix}C/Linux", $"{prefix}D/Windows"],
            seen.Select(d => $"{d.AssetTag}/{d.OsType}"));
    }

    [Fact]
    public async Task Deleted_devices_leave_the_inventory_and_owners_see_their_devices_by_id()
    {
        var tag = "OWN" + Guid.NewGuid().ToString("N")[..8].ToUpperInvariant();
        var record = await _silo.Grains.GetGrain<IAssetTagGrain>(AssetTags.Key(OsType.Linux, tag)).CreateDeviceAsync(Guid.NewGuid(), OsType.Linux, tag, DeviceSource.Api, "admin");
        var device = _silo.Grains.GetGrain<IDeviceGrain>(record.Id);
        using var key = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
        var now = DateTimeOffset.UtcNow;
        var owner = new DeviceUser(Guid.NewGuid().ToString(), "owner-" + tag);
        var challenge = await device.BeginEnrollmentAsync("cred", key.ExportSubjectPublicKeyInfo(),
            new CollectedData(now, now, OsType.Linux, tag, "", "12", "", "", "", "", "", ""), owner, DeviceTrust.Grains.Attestation.DevicePolicy.Open);
        await device.CompleteEnrollmentAsync(challenge.Ceremony, KeyChallenge.Sign(key, challenge.Bytes));
        Assert.Equal(tag, Assert.Single(await Inventory.OwnedByAsync(owner.Id, default)).AssetTag);
        // the same name under another id owns nothing
        Assert.Empty(await Inventory.OwnedByAsync(Guid.NewGuid().ToString(), default));
        await device.UpdateAsync(new DeviceUpdate(false, new DeviceProfile(now, "MacBookPro18,1", "14.1", "23B74", ["alice"]), [], []));
        Assert.Equal("MacBookPro18,1", (await Inventory.OwnedByAsync(owner.Id, default))[0].Profile!.ModelIdentifier);
        await device.DeleteAsync();
        Assert.Empty(await Inventory.OwnedByAsync(owner.Id, default));
    }

    [Fact]
    public async Task A_sync_finds_devices_by_asset_tag_and_by_its_source_and_an_owner_change_unenrolls_in_the_grain()
    {
        var prefix = "SRC" + Guid.NewGuid().ToString("N")[..6].ToUpperInvariant();
        var source = "jamf-" + prefix.ToLowerInvariant();
        var now = DateTimeOffset.UtcNow;
        var outcomes = await new DeviceImport(_silo.Options, SiloHarness.ServiceId, TimeProvider.System).CreateAsync(
        [
            new NewDevice(OsType.MacOS, prefix + "A") { Profile = new DeviceProfile(now, "Mac14,2", "14.5", "23F79", [], AssignedUser: "alice"), SourceName = source },
            new NewDevice(OsType.MacOS, prefix + "B") { SourceName = source },
            new NewDevice(OsType.Linux, prefix + "A"),
        ], DeviceSource.Jamf, "admin", d => Entry(AuditCodes.DeviceCreate, d.AssetTag), default);
        Assert.All(outcomes, o => Assert.Equal(ImportResult.Created, o.Result));

        Assert.Equal([$"{prefix}A/Linux", $"{prefix}A/MacOS"],
            (await Inventory.WithAssetTagsAsync([prefix + "A", prefix + "Z"], default)).Select(d => $"{d.AssetTag}/{d.OsType}").Order());
        var ofSource = await Inventory.FromSourceAsync(DeviceSource.Jamf, source, default);
        Assert.Equal([prefix + "A", prefix + "B"], ofSource.Select(d => d.AssetTag));
        Assert.Equal(("Mac14,2", "alice"), (ofSource[0].Profile!.ModelIdentifier, ofSource[0].Profile!.AssignedUser));
        Assert.Empty(await Inventory.FromSourceAsync(DeviceSource.Intune, source, default));

        // Enrolled, then given to bob by the MDM: the grain unenrolls it in the same write as the profile.
        var device = _silo.Grains.GetGrain<IDeviceGrain>(outcomes[0].DeviceId);
        using var key = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
        var challenge = await device.BeginEnrollmentAsync("cred", key.ExportSubjectPublicKeyInfo(),
            new CollectedData(now, now, OsType.MacOS, prefix + "A", "", "14.5", "", "", "", "", "", ""), new DeviceUser(Guid.NewGuid().ToString(), "alice"),
            DeviceTrust.Grains.Attestation.DevicePolicy.Open);
        await device.CompleteEnrollmentAsync(challenge.Ceremony, KeyChallenge.Sign(key, challenge.Bytes));
        // What a sync reads leaves the history out (the grain has it): a whole source is read at once.
        Assert.Single((await device.GetAsync())!.CollectedData);
        var read = Assert.Single(await Inventory.WithAssetTagsAsync([prefix + "A"], default), d => d.OsType == OsType.MacOS);
        Assert.Equal((EnrollStatus.Enrolled, 0, "alice"), (read.EnrollStatus, read.CollectedData.Count, read.Profile!.AssignedUser));
        var synced = new DeviceProfile(now, "Mac14,2", "14.5", "23F79", [], AssignedUser: "ALICE");
        var sameOwner = await device.UpdateAsync(new DeviceUpdate(false, synced, [], []) { Sync = new MdmSyncUpdate(DeviceSource.Jamf, source, true) });
        Assert.Equal(EnrollStatus.Enrolled, sameOwner.After.EnrollStatus);
        var moved = await device.UpdateAsync(new DeviceUpdate(false, synced with { AssignedUser = "bob" }, [], [])
        {
            Sync = new MdmSyncUpdate(DeviceSource.Intune, "intune", true),
        });
        Assert.Equal((EnrollStatus.NotEnrolled, "", "bob", DeviceSource.Intune, "intune"),
            (moved.After.EnrollStatus, moved.After.Owner, moved.After.Profile!.AssignedUser, moved.After.Source, moved.After.SourceName));
        Assert.Null(moved.After.Credential);
        Assert.Equal([prefix + "B"], (await Inventory.FromSourceAsync(DeviceSource.Jamf, source, default)).Select(d => d.AssetTag));
    }

    [Fact]
    public async Task Audit_events_filter_by_type_prefix_user_device_result_and_time()
    {
        var marker = Guid.NewGuid().ToString("N")[..8];
        var device = Guid.NewGuid().ToString();
        var now = DateTimeOffset.UtcNow;
        await Audit.AppendAsync(Entry($"f{marker}.create", "a", now.AddMinutes(-30)) with { User = "admin", Target = "carol" });
        await Audit.AppendAsync(Entry($"f{marker}.delete", "b", now.AddMinutes(-20)) with { User = "carol", Success = false, Status = "PermissionDenied" });
        await Audit.AppendAsync(Entry($"f{marker}.create", "c", now.AddMinutes(-10)) with { User = "bob", DeviceId = device, AssetTag = "TAG-" + marker });
        await Audit.AppendAsync(Entry($"g{marker}.create", "d", now) with { User = "bob", Details = "{\"before\":1}" });
        async Task<string> Messages(AuditQuery query) => string.Concat((await Audit.ListAsync(query, default)).Select(e => e.Message));
        var all = new AuditQuery(now.AddHours(-1), null, $"f{marker}.*", null, null, null, 0, 100);
        Assert.Equal("abc", await Messages(all));
        Assert.Equal("ac", await Messages(all with { Type = $"f{marker}.create" }));
        Assert.Equal("ab", await Messages(all with { User = "carol" }));
        Assert.Equal("c", await Messages(all with { Device = device }));
        Assert.Equal("c", await Messages(all with { Device = "TAG-" + marker }));
        Assert.Equal("b", await Messages(all with { Success = false }));
        Assert.Equal("bc", await Messages(all with { Since = now.AddMinutes(-25), Until = now.AddMinutes(-5) }));
        // the escape characters of LIKE in a prefix are literal
        Assert.Equal("", await Messages(all with { Type = $"f{marker}%*" }));
        var stored = (await Audit.ListAsync(all with { Type = $"g{marker}.*" }, default)).Single();
        Assert.Equal(("{\"before\":1}", "bob"), (stored.Details, stored.User));
        var refused = (await Audit.ListAsync(all with { Success = false }, default)).Single();
        Assert.Equal("PermissionDenied", refused.Status);
    }

    /// <summary>
    /// Appends share transactions (group commit): a hundred concurrent callers are all committed, a caller's events stay
    /// together, and an event the database refuses fails its own caller only, even when it shared a batch.
    /// </summary>
    [Fact]
    public async Task Concurrent_appends_are_all_committed_and_a_refused_event_fails_only_its_caller()
    {
        var marker = Guid.NewGuid().ToString("N")[..8];
        var now = DateTimeOffset.UtcNow;
        AuditEntry Event(int i, string user) => new(now, $"gc{marker}", true, user, "", "", "", "", "", $"m{i}");
        var singles = Enumerable.Range(0, 50).Select(i => Audit.AppendAsync(Event(i, "alice"))).ToList();
        var pair = Audit.AppendAllAsync([Event(100, "bob"), Event(101, "bob")]);
        var refused = Audit.AppendAsync(Event(200, null!));
        singles.AddRange(Enumerable.Range(50, 50).Select(i => Audit.AppendAsync(Event(i, "alice"))));
        await Task.WhenAll(singles.Append(pair));
        var failure = await Assert.ThrowsAnyAsync<Exception>(() => refused);
        Assert.False(string.IsNullOrEmpty(failure.Message));
        var stored = await Audit.ListAsync(new AuditQuery(now.AddMinutes(-1), null, $"gc{marker}", null, null, null, 0, 500), default);
        Assert.Equal(102, stored.Count);
        Assert.DoesNotContain(stored, e => e.Message == "m200");
        Assert.Equal(Enumerable.Range(0, 100).Select(i => $"m{i}").Order(), stored.Where(e => e.User == "alice").Select(e => e.Message).Order());
        var bob = stored.Where(e => e.User == "bob").ToList();
        Assert.Equal(["m100", "m101"], bob.Select(e => e.Message));
        Assert.Equal(bob[0].Id + 1, bob[1].Id);
    }
}

public sealed class SqliteReadModelTests : ReadModelContract, IDisposable
{
    private readonly TempDirectory _directory = new("dt-sqlite-rm");

    protected override Task<Silo.Hosting.DeviceTrustHostOptions> DatabaseAsync() => Task.FromResult(SiloHarness.Sqlite(_directory.Path));

    /// <summary>
    /// SQLite's busy timeout is 0 unless set: a contended write then failed at once and Microsoft.Data.Sqlite slept
    /// 150 ms before each retry, the tail of every concurrent load. Both our connections and the grain storage's wait
    /// inside SQLite instead.
    /// </summary>
    [Fact]
    public async Task Every_SQLite_connection_waits_for_the_write_lock_inside_SQLite()
    {
        var storage = Silo.Cluster.Silos[0].ServiceProvider
            .GetRequiredService<Microsoft.Extensions.Options.IOptionsMonitor<Orleans.Configuration.AdoNetGrainStorageOptions>>().Get(DeviceTrust.Silo.Hosting.DeviceTrustSilo.SqliteStorageName);
        // Grains reach it through the one writer of the database.
        Assert.IsType<SqliteWriteGate.GrainStorage>(Silo.Storage);
        var source = Assert.IsType<SqliteLockWait.DataSource>(storage.DataSource);
        Assert.Null(storage.ConnectionString);
        foreach (var connection in new[] { source.CreateConnection(), DatabaseSchema.Open(Silo.Options.Storage, Silo.Options.Storage.ConnectionStringFor(Silo.Options)) })
        {
            await using (connection)
            {
                await connection.OpenAsync();
                await using var pragma = connection.CreateCommand();
                pragma.CommandText = "PRAGMA busy_timeout;";
                Assert.Equal(30_000L, await pragma.ExecuteScalarAsync());
            }
        }
    }

    /// <summary>
    /// A page after the first must start in the index at its token, not walk the index from the start and filter: the
    /// last page of a million devices took 1.4 s that way. SQLite plans without statistics, so its plan is the same
    /// on an empty table as on a full one (PostgreSQL's is not, and is not checked here).
    /// </summary>
    [Fact]
    public async Task A_page_of_the_inventory_starts_in_the_index_at_its_token()
    {
        var options = SiloHarness.Sqlite(_directory.Path);
        await using var connection = DatabaseSchema.Open(options.Storage, options.Storage.ConnectionStringFor(options));
        await connection.OpenAsync();
        await using var explain = connection.CreateCommand();
        explain.CommandText = "EXPLAIN QUERY PLAN " + new DeviceInventoryQuery(options, SiloHarness.ServiceId).PageSql;
        foreach (var (name, value) in new (string, object)[] { ("service", SiloHarness.ServiceId), ("tag", "T1"), ("os", "Linux"), ("id", ""), ("limit", 201) })
        {
            var parameter = explain.CreateParameter();
            parameter.ParameterName = name;
            parameter.Value = value;
            explain.Parameters.Add(parameter);
        }
        await using var reader = await explain.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        Assert.Equal("SEARCH grain_state USING INDEX device_inventory (service_id=? AND <expr>>?)", reader.GetString(3));
    }

    public void Dispose() => _directory.Dispose();
}

public sealed class PostgresReadModelTests : ReadModelContract
{
    protected override async Task<Silo.Hosting.DeviceTrustHostOptions> DatabaseAsync() =>
        SiloHarness.Postgres(await (await PostgresServer.SharedAsync()).CreateDatabaseAsync());
}
