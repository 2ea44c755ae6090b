using System.Data;
using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace DeviceTrust.Silo.Database;

/// <summary>
/// SQLite connections that wait for the write lock inside SQLite. A connection's busy timeout is 0 unless set, so a
/// writer that finds the lock taken gets SQLITE_BUSY at once, and Microsoft.Data.Sqlite retries it after sleeping
/// its thread for 150 ms: under concurrent writers every contended write cost 150 ms or a multiple (authentications
/// at p50 7 ms and p90 159 ms; <c>Thread.Sleep</c> under <c>SqliteDataReader.NextResult</c> was 28 % of the
/// gateway's thread time). With <c>busy_timeout</c> set, SQLite retries in steps of 1 ms upwards and takes the lock
/// soon after it is freed. Every SQLite connection of ours, and the grain storage's, is made here.
/// </summary>
public static class SqliteLockWait
{
    /// <summary>How long a write waits for the lock before it fails (the same as the default command timeout).</summary>
    public const int BusyTimeoutMilliseconds = 30_000;

    public static SqliteConnection Connection(string connectionString)
    {
        var connection = new SqliteConnection(connectionString);
        connection.StateChange += (sender, change) =>
        {
            if (change.CurrentState == ConnectionState.Open && sender is SqliteConnection opened)
            {
                using var pragma = opened.CreateCommand();
                pragma.CommandText = $"PRAGMA busy_timeout = {BusyTimeoutMilliseconds};";
                pragma.ExecuteNonQuery();
            }
        };
        return connection;
    }

    /// <summary>
    /// What Orleans' ADO.NET provider opens its SQLite connections from (its DataSource option): while it writes for
    /// this database's <see cref="SqliteWriteGate"/>, the writer's shared connection in its transaction.
    /// </summary>
    public sealed class DataSource(string connectionString) : DbDataSource
    {
        private readonly string _path = SqliteWriteGate.FileOf(connectionString);

        public override string ConnectionString => connectionString;

        protected override DbConnection CreateDbConnection() =>
            SqliteWriteGate.Ambient.Value is { } shared && shared.Path == _path ? shared : Connection(connectionString);
    }
}
