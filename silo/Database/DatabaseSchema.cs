using System.Data.Common;
using System.Reflection;
using DeviceTrust.Core.Errors;
using DeviceTrust.Silo.Hosting;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace DeviceTrust.Silo.Database;

/// <summary>
/// Our SQL, versioned in <c>silo/Database/{sqlite,postgresql}/</c>: numbered migrations (each applied once, recorded
/// in <c>schema_migrations</c>) and the query texts Orleans' ADO.NET provider reads from <c>OrleansQuery</c>
/// (re-written on every run). Applying is idempotent and safe when two processes do it at once.
/// </summary>
public static class DatabaseSchema
{
    private const string ResourcePrefix = "DeviceTrust.Sql/";

    /// <summary>
    /// Applies pending migrations and the query texts; returns the names of the migrations it applied. With
    /// <paramref name="through"/>, stops after that migration (an older version's schema, for upgrade tests).
    /// </summary>
    public static async Task<IReadOnlyList<string>> ApplyAsync(DeviceTrustHostOptions options, string? through = null,
        CancellationToken cancellationToken = default)
    {
        var storage = options.Storage;
        if (storage.IsSqlite)
        {
            CreatePrivateDatabaseFile(storage.ConnectionStringFor(options));
        }
        await using var connection = Open(storage, storage.ConnectionStringFor(options));
        await connection.OpenAsync(cancellationToken);
        if (storage.IsSqlite)
        {
            // WAL lets readers proceed while one writer writes; the setting is stored in the database file.
            await ExecuteAsync(connection, null, "PRAGMA journal_mode=WAL;", cancellationToken);
        }
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        if (!storage.IsSqlite)
        {
            // Two silos starting together must not apply the same migration twice.
            await ExecuteAsync(connection, transaction, "SELECT pg_advisory_xact_lock(7700063261152545);", cancellationToken);
        }
        await ExecuteAsync(connection, transaction,
            "CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT NOT NULL PRIMARY KEY, applied_utc TEXT NOT NULL);", cancellationToken);
        var applied = await AppliedAsync(connection, transaction, cancellationToken);
        RefuseNewer(storage.Provider, applied);
        var done = new List<string>();
        foreach (var (name, sql) in Scripts(storage.Provider, "migrations"))
        {
            if (!applied.Contains(name))
            {
                await ExecuteAsync(connection, transaction, sql, cancellationToken);
                await ExecuteAsync(connection, transaction, "INSERT INTO schema_migrations (name, applied_utc) VALUES (@name, @now);",
                    cancellationToken, ("name", name), ("now", DateTimeOffset.UtcNow.ToString("O")));
                done.Add(name);
            }
            if (name == through)
            {
                break;
            }
        }
        foreach (var (name, sql) in Scripts(storage.Provider, "queries"))
        {
            await ExecuteAsync(connection, transaction,
                "INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES (@key, @text) ON CONFLICT (QueryKey) DO UPDATE SET QueryText = excluded.QueryText;",
                cancellationToken, ("key", Path.GetFileNameWithoutExtension(name)), ("text", sql));
        }
        await transaction.CommitAsync(cancellationToken);
        return done;
    }

    /// <summary>Fails with the command to run when the database lacks migrations this version needs.</summary>
    public static async Task EnsureCurrentAsync(DeviceTrustHostOptions options, CancellationToken cancellationToken = default)
    {
        var storage = options.Storage;
        await using var connection = Open(storage, storage.ConnectionStringFor(options));
        await connection.OpenAsync(cancellationToken);
        HashSet<string> applied;
        try
        {
            applied = await AppliedAsync(connection, null, cancellationToken);
        }
        catch (DbException)
        {
            applied = [];
        }
        RefuseNewer(storage.Provider, applied);
        var missing = Scripts(storage.Provider, "migrations").Select(s => s.Name).Where(n => !applied.Contains(n)).ToList();
        if (missing.Count > 0)
        {
            throw DeviceTrustException.FailedPrecondition(
                $"the database schema is not current (missing {string.Join(", ", missing)}): run `dotnet run --project silo -- db init` with the same configuration");
        }
    }

    /// <summary>
    /// A database that a newer version migrated has tables and query texts this version does not know: writing our
    /// older query texts over them, or running against them, could corrupt it. Nothing is changed.
    /// </summary>
    private static void RefuseNewer(string provider, HashSet<string> applied)
    {
        var known = Scripts(provider, "migrations").Select(s => s.Name).ToHashSet(StringComparer.Ordinal);
        var unknown = applied.Where(name => !known.Contains(name)).Order(StringComparer.Ordinal).ToList();
        if (unknown.Count > 0)
        {
            throw DeviceTrustException.FailedPrecondition(
                $"the database schema is newer than this version of DeviceTrust knows (it has {string.Join(", ", unknown)}): run the newer version, or restore a backup taken before the upgrade");
        }
    }

    /// <summary>
    /// The database holds password hashes and the encrypted CA key: create it 0600 in a 0700 directory before SQLite
    /// does (SQLite gives its WAL and shared-memory files the database file's mode).
    /// </summary>
    private static void CreatePrivateDatabaseFile(string connectionString)
    {
        var path = new SqliteConnectionStringBuilder(connectionString).DataSource;
        if (string.IsNullOrEmpty(path) || path == ":memory:" || File.Exists(path))
        {
            return;
        }
        Core.Secrets.SecureFile.CreatePrivateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        Core.Secrets.SecureFile.WriteAllBytes(path, []);
    }

    /// <summary>The names of the migrations this version knows for a provider, in the order they apply.</summary>
    public static IReadOnlyList<string> Migrations(string provider) => Scripts(provider, "migrations").Select(s => s.Name).ToList();

    public static DbConnection Open(StorageOptions storage, string connectionString) =>
        storage.IsSqlite ? SqliteLockWait.Connection(connectionString) : new NpgsqlConnection(connectionString);

    private static async Task<HashSet<string>> AppliedAsync(DbConnection connection, DbTransaction? transaction, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT name FROM schema_migrations;";
        var names = new HashSet<string>(StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            names.Add(reader.GetString(0));
        }
        return names;
    }

    private static IEnumerable<(string Name, string Sql)> Scripts(string provider, string kind)
    {
        var assembly = typeof(DatabaseSchema).Assembly;
        var prefix = $"{ResourcePrefix}{provider}/{kind}/";
        foreach (var resource in assembly.GetManifestResourceNames().Where(n => n.StartsWith(prefix, StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            yield return (resource[prefix.Length..], Read(assembly, resource));
        }
    }

    private static string Read(Assembly assembly, string resource)
    {
        using var stream = assembly.GetManifestResourceStream(resource)!;
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    private static async Task ExecuteAsync(DbConnection connection, DbTransaction? transaction, string sql, CancellationToken cancellationToken,
        params (string Name, object Value)[] parameters)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            command.With(name, value);
        }
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
