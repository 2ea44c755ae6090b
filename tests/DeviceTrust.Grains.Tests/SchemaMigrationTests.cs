using System.Data.Common;
using DeviceTrust.Core.Errors;
using DeviceTrust.Silo.Database;
using DeviceTrust.Silo.Hosting;
using DeviceTrust.Testing;

namespace DeviceTrust.Grains.Tests;

/// <summary>`silo db init`: versioned migrations, applied once each, upgrades with data in place, and no run against a newer schema.</summary>
public abstract class SchemaMigrationContract
{
    protected abstract Task<DeviceTrustHostOptions> EmptyDatabaseAsync();

    private static async Task<object?> ScalarAsync(DeviceTrustHostOptions options, string sql)
    {
        await using var connection = DatabaseSchema.Open(options.Storage, options.Storage.ConnectionStringFor(options));
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return await command.ExecuteScalarAsync();
    }

    [Fact]
    public async Task An_empty_database_gets_every_migration_once_and_then_is_current()
    {
        var options = await EmptyDatabaseAsync();
        Assert.Equal(DatabaseSchema.Migrations(options.Storage.Provider), await DatabaseSchema.ApplyAsync(options));
        Assert.Empty(await DatabaseSchema.ApplyAsync(options));
        await DatabaseSchema.EnsureCurrentAsync(options);
    }

    [Fact]
    public async Task A_database_of_the_previous_version_is_upgraded_and_keeps_its_data()
    {
        var options = await EmptyDatabaseAsync();
        var all = DatabaseSchema.Migrations(options.Storage.Provider);
        var previous = all[^2];
        Assert.Equal(all.Take(all.Count - 1), await DatabaseSchema.ApplyAsync(options, through: previous));
        // A row as the previous version wrote it (its columns only).
        await ScalarAsync(options, """
            INSERT INTO audit_event (time_utc, type, success, user_name, device_id, asset_tag, os_type, credential_id, client_ip, message)
            VALUES ('2026-01-01T00:00:00Z', 'test.before-upgrade', TRUE, 'alice', '', '', '', '', '', 'kept');
            """);
        var stale = await Assert.ThrowsAsync<DeviceTrustException>(() => DatabaseSchema.EnsureCurrentAsync(options));
        Assert.Equal(ErrorKind.FailedPrecondition, stale.Kind);
        Assert.Contains($"missing {all[^1]}", stale.Message, StringComparison.Ordinal);

        Assert.Equal([all[^1]], await DatabaseSchema.ApplyAsync(options));
        await DatabaseSchema.EnsureCurrentAsync(options);
        Assert.Equal("kept", await ScalarAsync(options, "SELECT message FROM audit_event WHERE type = 'test.before-upgrade'"));
    }

    [Fact]
    public async Task A_schema_newer_than_this_version_is_refused_and_left_as_it_is()
    {
        var options = await EmptyDatabaseAsync();
        await DatabaseSchema.ApplyAsync(options);
        await ScalarAsync(options, "INSERT INTO schema_migrations (name, applied_utc) VALUES ('9999-from-the-future.sql', 'later');");
        await ScalarAsync(options, "UPDATE OrleansQuery SET QueryText = 'a newer text' WHERE QueryKey = 'ReadFromStorageKey';");

        foreach (var attempt in new Func<Task>[] { () => DatabaseSchema.ApplyAsync(options), () => DatabaseSchema.EnsureCurrentAsync(options) })
        {
            var refused = await Assert.ThrowsAsync<DeviceTrustException>(attempt);
            Assert.Equal(ErrorKind.FailedPrecondition, refused.Kind);
            Assert.Equal("the database schema is newer than this version of DeviceTrust knows (it has 9999-from-the-future.sql): "
                + "run the newer version, or restore a backup taken before the upgrade", refused.Message);
        }
        Assert.Equal("a newer text", await ScalarAsync(options, "SELECT QueryText FROM OrleansQuery WHERE QueryKey = 'ReadFromStorageKey'"));
    }
}

public sealed class SqliteSchemaMigrationTests : SchemaMigrationContract, IDisposable
{
    private readonly TempDirectory _directory = new("dt-schema");

    protected override Task<DeviceTrustHostOptions> EmptyDatabaseAsync() => Task.FromResult(SiloHarness.Sqlite(_directory.Path));

    public void Dispose() => _directory.Dispose();
}

public sealed class PostgresSchemaMigrationTests : SchemaMigrationContract
{
    protected override async Task<DeviceTrustHostOptions> EmptyDatabaseAsync() =>
        SiloHarness.Postgres(await (await PostgresServer.SharedAsync()).CreateDatabaseAsync());
}
