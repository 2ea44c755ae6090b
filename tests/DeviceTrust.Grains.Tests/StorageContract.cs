using DeviceTrust.Testing;
using Orleans.Runtime;
using Orleans.Storage;

namespace DeviceTrust.Grains.Tests;

/// <summary>
/// What our SQL must do for Orleans' ADO.NET persistence provider (shared/ADONET-CONTRACT.md), run through the
/// real provider against each database: read/write/clear, version conflicts, racing writers, a restart.
/// </summary>
public abstract class StorageContract : IAsyncLifetime
{
    private const string StateName = "contract";
    private SiloHarness _silo = null!;

    protected abstract Task<Silo.Hosting.DeviceTrustHostOptions> DatabaseAsync();

    public async Task InitializeAsync() => _silo = await SiloHarness.StartAsync(await DatabaseAsync());

    public async Task DisposeAsync() => await _silo.DisposeAsync();

    public sealed class Counter
    {
        public int Value { get; set; }
        public string? Note { get; set; }
    }

    private static GrainId StringKey() => GrainId.Create("contract-test", "k-" + Guid.NewGuid().ToString("N"));

    private static GrainId GuidKey() => GrainId.Create(GrainType.Create("contract-test"), GrainIdKeyExtensions.CreateGuidKey(Guid.NewGuid()));

    private async Task<GrainState<Counter>> ReadAsync(GrainId id)
    {
        var state = new GrainState<Counter>(new Counter());
        await _silo.Storage.ReadStateAsync(StateName, id, state);
        return state;
    }

    [Fact]
    public async Task Reading_what_was_never_written_gives_a_fresh_state()
    {
        var state = await ReadAsync(StringKey());
        Assert.False(state.RecordExists);
        Assert.Null(state.ETag);
        Assert.Equal(0, state.State!.Value);
    }

    [Fact]
    public async Task Written_state_reads_back_with_its_version()
    {
        foreach (var id in new[] { StringKey(), GuidKey() })
        {
            var state = new GrainState<Counter>(new Counter { Value = 7, Note = "ünïcode ✓" });
            await _silo.Storage.WriteStateAsync(StateName, id, state);
            Assert.Equal("1", state.ETag);
            var read = await ReadAsync(id);
            Assert.True(read.RecordExists);
            Assert.Equal("1", read.ETag);
            Assert.Equal(7, read.State!.Value);
            Assert.Equal("ünïcode ✓", read.State!.Note);
            read.State!.Value = 8;
            await _silo.Storage.WriteStateAsync(StateName, id, read);
            Assert.Equal("2", read.ETag);
            Assert.Equal(8, (await ReadAsync(id)).State!.Value);
        }
    }

    [Fact]
    public async Task A_write_from_a_stale_version_conflicts_and_changes_nothing()
    {
        var id = StringKey();
        await _silo.Storage.WriteStateAsync(StateName, id, new GrainState<Counter>(new Counter { Value = 1 }));
        var first = await ReadAsync(id);
        var second = await ReadAsync(id);
        first.State!.Value = 2;
        await _silo.Storage.WriteStateAsync(StateName, id, first);
        second.State!.Value = 3;
        await Assert.ThrowsAsync<InconsistentStateException>(() => _silo.Storage.WriteStateAsync(StateName, id, second));
        Assert.Equal(2, (await ReadAsync(id)).State!.Value);
    }

    [Fact]
    public async Task A_first_write_over_an_existing_row_conflicts()
    {
        var id = StringKey();
        await _silo.Storage.WriteStateAsync(StateName, id, new GrainState<Counter>(new Counter { Value = 1 }));
        await Assert.ThrowsAsync<InconsistentStateException>(() =>
            _silo.Storage.WriteStateAsync(StateName, id, new GrainState<Counter>(new Counter { Value = 9 })));
        Assert.Equal(1, (await ReadAsync(id)).State!.Value);
    }

    [Fact]
    public async Task Clearing_removes_the_state_and_a_new_write_starts_over()
    {
        var id = StringKey();
        var state = new GrainState<Counter>(new Counter { Value = 5 });
        await _silo.Storage.WriteStateAsync(StateName, id, state);
        await _silo.Storage.ClearStateAsync(StateName, id, state);
        Assert.False(state.RecordExists);
        var read = await ReadAsync(id);
        Assert.False(read.RecordExists);
        Assert.Equal(0, read.State!.Value);
        read.State!.Value = 6;
        await _silo.Storage.WriteStateAsync(StateName, id, read);
        Assert.Equal(6, (await ReadAsync(id)).State!.Value);
    }

    [Fact]
    public async Task A_clear_from_a_stale_version_conflicts_and_keeps_the_state()
    {
        var id = StringKey();
        await _silo.Storage.WriteStateAsync(StateName, id, new GrainState<Counter>(new Counter { Value = 1 }));
        var stale = await ReadAsync(id);
        var fresh = await ReadAsync(id);
        fresh.State!.Value = 2;
        await _silo.Storage.WriteStateAsync(StateName, id, fresh);
        await Assert.ThrowsAsync<InconsistentStateException>(() => _silo.Storage.ClearStateAsync(StateName, id, stale));
        Assert.Equal(2, (await ReadAsync(id)).State!.Value);
    }

    [Fact]
    public async Task Of_eight_concurrent_writers_from_the_same_version_exactly_one_wins()
    {
        var id = StringKey();
        await _silo.Storage.WriteStateAsync(StateName, id, new GrainState<Counter>(new Counter { Value = 0 }));
        var readers = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => ReadAsync(id)));
        var outcomes = await Task.WhenAll(readers.Select(async (state, i) =>
        {
            state.State!.Value = i + 1;
            try
            {
                await _silo.Storage.WriteStateAsync(StateName, id, state);
                return i + 1;
            }
            catch (InconsistentStateException)
            {
                return 0;
            }
        }));
        var winner = Assert.Single(outcomes, o => o != 0);
        var stored = await ReadAsync(id);
        Assert.Equal(winner, stored.State!.Value);
        Assert.Equal("2", stored.ETag);
    }

    [Fact]
    public async Task Of_eight_concurrent_first_writers_exactly_one_wins()
    {
        var id = StringKey();
        var outcomes = await Task.WhenAll(Enumerable.Range(0, 8).Select(async i =>
        {
            try
            {
                await _silo.Storage.WriteStateAsync(StateName, id, new GrainState<Counter>(new Counter { Value = i + 1 }));
                return i + 1;
            }
            catch (InconsistentStateException)
            {
                return 0;
            }
        }));
        var winner = Assert.Single(outcomes, o => o != 0);
        Assert.Equal(winner, (await ReadAsync(id)).State!.Value);
    }

    [Fact]
    public async Task States_of_different_names_or_keys_do_not_mix()
    {
        var id = StringKey();
        await _silo.Storage.WriteStateAsync(StateName, id, new GrainState<Counter>(new Counter { Value = 1 }));
        await _silo.Storage.WriteStateAsync("other", id, new GrainState<Counter>(new Counter { Value = 2 }));
        Assert.Equal(1, (await ReadAsync(id)).State!.Value);
        Assert.False((await ReadAsync(StringKey())).RecordExists);
    }

    [Fact]
    public async Task State_survives_a_restart()
    {
        var id = GuidKey();
        await _silo.Storage.WriteStateAsync(StateName, id, new GrainState<Counter>(new Counter { Value = 42, Note = "before" }));
        var options = _silo.Options;
        await _silo.DisposeAsync();
        _silo = await SiloHarness.StartAsync(options);
        var read = await ReadAsync(id);
        Assert.Equal(42, read.State!.Value);
        Assert.Equal("before", read.State!.Note);
        Assert.Equal("1", read.ETag);
    }

    /// <summary>
    /// Every string key has n0 = n1 = 0, so a lookup that the identity index serves only up to n1 walks every row of
    /// its kind: at a million asset tags that was most of a second per read. The plan must use the key itself.
    /// </summary>
    [Theory]
    [InlineData("ReadFromStorageKey")]
    [InlineData("WriteToStorageKey")]
    [InlineData("ClearStorageKey")]
    [InlineData("DeleteStorageKey")]
    public async Task A_string_key_is_found_through_an_index_on_the_key_itself(string queryKey)
    {
        var sqlite = _silo.Options.Storage.IsSqlite;
        await using var connection = Silo.Database.DatabaseSchema.Open(_silo.Options.Storage, _silo.Options.Storage.ConnectionStringFor(_silo.Options));
        await connection.OpenAsync();
        await using var query = connection.CreateCommand();
        query.CommandText = "SELECT QueryText FROM OrleansQuery WHERE QueryKey = @key";
        Bind(query, "key", queryKey);
        var text = (string)(await query.ExecuteScalarAsync())!;
        await using var explain = connection.CreateCommand();
        explain.CommandText = (sqlite ? "EXPLAIN QUERY PLAN " : "EXPLAIN ") + string.Join('\n', text.Split('\n').Where(line => !line.TrimStart().StartsWith("--", StringComparison.Ordinal)))
            .Split(';', StringSplitOptions.RemoveEmptyEntries)
            .Select(statement => statement.Trim()).Last(statement => statement.Contains("grain_id_ext", StringComparison.Ordinal));
        foreach (var (name, value) in new (string, object)[]
                 {
                     ("GrainIdHash", 1), ("GrainTypeHash", 2), ("ServiceId", SiloHarness.ServiceId), ("GrainTypeString", "asset-tag"), ("GrainIdN0", 0L),
                     ("GrainIdN1", 0L), ("GrainIdExtensionString", "linux/SERIAL1"), ("GrainStateVersion", 1), ("PayloadBinary", "{}"u8.ToArray()),
                 })
        {
            Bind(explain, name, value);
        }
        var plan = new List<string>();
        await using (var reader = await explain.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                plan.Add(reader.GetValue(sqlite ? 3 : 0).ToString()!);
            }
        }
        var all = string.Join("\n", plan);
        // SQLite names the identity index's expression columns "<expr>"; PostgreSQL shows the condition.
        Assert.True(sqlite ? all.Contains("grain_id_n1=? AND <expr>=? AND <expr>=?", StringComparison.Ordinal)
                : plan.Any(line => line.Contains("Index Cond", StringComparison.Ordinal) && line.Contains("grain_id_ext =", StringComparison.Ordinal)),
            all);
    }

    private static void Bind(System.Data.Common.DbCommand command, string name, object value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value;
        command.Parameters.Add(parameter);
    }

    [Fact]
    public async Task Applying_the_schema_again_changes_nothing()
    {
        Assert.Empty(await Silo.Database.DatabaseSchema.ApplyAsync(_silo.Options));
        await Silo.Database.DatabaseSchema.EnsureCurrentAsync(_silo.Options);
    }
}

public sealed class SqliteStorageContractTests : StorageContract, IDisposable
{
    private readonly TempDirectory _directory = new("dt-sqlite");

    protected override Task<Silo.Hosting.DeviceTrustHostOptions> DatabaseAsync() => Task.FromResult(SiloHarness.Sqlite(_directory.Path));

    public void Dispose() => _directory.Dispose();
}

public sealed class PostgresStorageContractTests : StorageContract
{
    protected override async Task<Silo.Hosting.DeviceTrustHostOptions> DatabaseAsync() =>
        SiloHarness.Postgres(await (await PostgresServer.SharedAsync()).CreateDatabaseAsync());
}
