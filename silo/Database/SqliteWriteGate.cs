using System.Collections.Concurrent;
using System.Data;
using System.Data.Common;
using System.Diagnostics.CodeAnalysis;
using Microsoft.Data.Sqlite;
using Orleans.Storage;

namespace DeviceTrust.Silo.Database;

/// <summary>
/// One writer per SQLite database in this process: a thread of its own that runs the writes in arrival order, and
/// commits the writes that queued up while it was busy in one transaction (group commit).
/// <para>
/// SQLite lets one connection write at a time, and a commit waits for the disk (the WAL is synced: an acknowledged
/// write survives a power cut). A writer that found the lock taken slept in SQLite's busy handler, so under a storm
/// the lock sat free while its waiters slept; an async lock handed over through the thread pool, behind the storm's
/// other work. So the writes run back to back on one thread; and since one transaction per write made that thread
/// wait for the disk once per write (a login storm's every authentication), writes that arrive while a transaction
/// commits share the next one. Each caller is still answered only after its transaction has committed.
/// </para>
/// <para>
/// A write in a shared transaction that fails (or a commit that fails) rolls the whole transaction back, with
/// whatever that write had half done; each write of it is then made again alone, so only the write that really fails
/// fails, and nothing of the others is lost or made twice. Orleans' grain storage takes part through <see cref="Ambient"/>: while it writes for the
/// writer, the connections it opens are the shared one (<see cref="SqliteLockWait.DataSource"/>). The busy timeout
/// (<see cref="SqliteLockWait"/>) still guards against other processes (the CLI's <c>db</c> commands) and writers
/// that do not pass through here.
/// </para>
/// </summary>
public sealed class SqliteWriteGate
{
    /// <summary>Writes per shared transaction at most.</summary>
    internal const int MaxBatch = 256;

    private static readonly ConcurrentDictionary<string, SqliteWriteGate> Gates = new(StringComparer.Ordinal);

    /// <summary>The shared transaction of the write running now, for the connections Orleans' storage opens.</summary>
    internal static readonly AsyncLocal<SharedConnection?> Ambient = new();

    private readonly BlockingCollection<Write> _writes = [];
    private readonly string _connectionString;

    private SqliteWriteGate(string path, string connectionString)
    {
        Path = path;
        _connectionString = connectionString;
        var thread = new Thread(Run) { IsBackground = true, Name = "SQLite writer " + System.IO.Path.GetFileName(path) };
        thread.Start();
    }

    /// <summary>The database file, in full.</summary>
    public string Path { get; }

    /// <summary>The writer of the database file a connection string names.</summary>
    public static SqliteWriteGate For(string connectionString) =>
        Gates.GetOrAdd(FileOf(connectionString), path => new SqliteWriteGate(path, connectionString));

    internal static string FileOf(string connectionString) => System.IO.Path.GetFullPath(new SqliteConnectionStringBuilder(connectionString).DataSource);

    /// <summary>
    /// Runs <paramref name="write"/> on the writer thread inside a transaction it may share with other writes;
    /// completes once that transaction has committed. <paramref name="undo"/> puts back what the write changed in
    /// memory when its transaction is rolled back (it is then made again alone). Not cancellable once queued.
    /// </summary>
    public Task RunAsync(Func<SqliteConnection, SqliteTransaction, Task> write, Action? undo = null)
    {
        var pending = new Write(write, undo);
        _writes.Add(pending);
        return pending.Done.Task;
    }

    private void Run()
    {
        var batch = new List<Write>(MaxBatch);
        foreach (var first in _writes.GetConsumingEnumerable())
        {
            batch.Add(first);
            while (batch.Count < MaxBatch && _writes.TryTake(out var next))
            {
                batch.Add(next);
            }
            if (TryCommit(batch, out var failure))
            {
                batch.ForEach(write => Finish(write, null));
            }
            else if (batch.Count == 1)
            {
                Finish(batch[0], failure);
            }
            else
            {
                // Made again one by one: only the write that fails on its own fails.
                foreach (var write in batch)
                {
                    TryCommit([write], out var alone);
                    Finish(write, alone);
                }
            }
            batch.Clear();
        }
    }

    private static void Finish(Write write, Exception? failure)
    {
        if (failure is null)
        {
            write.Done.TrySetResult();
        }
        else
        {
            write.Done.TrySetException(failure);
        }
    }

    /// <summary>
    /// Runs the writes in one transaction and commits it; false, with the transaction rolled back and every write's
    /// memory undone, when any of them failed (whatever it had written goes with it) or the commit did.
    /// </summary>
    private bool TryCommit(List<Write> writes, out Exception? failure)
    {
        failure = null;
        SqliteConnection? connection = null;
        SqliteTransaction? transaction = null;
        try
        {
            connection = SqliteLockWait.Connection(_connectionString);
            connection.Open();
            transaction = connection.BeginTransaction(deferred: false);
            var shared = new SharedConnection(connection, transaction, Path);
            foreach (var write in writes)
            {
                RunOne(write, shared);
            }
            transaction.Commit();
            return true;
        }
        catch (Exception e)
        {
            failure = e;
            try
            {
                transaction?.Rollback();
            }
            catch (Exception)
            {
                // SQLite may have rolled it back already (a full disk, an I/O error); closing the connection ends it in any case.
            }
            foreach (var write in writes)
            {
                write.Undo?.Invoke();
            }
            return false;
        }
        finally
        {
            transaction?.Dispose();
            connection?.Dispose();
        }
    }

    private static void RunOne(Write write, SharedConnection shared)
    {
        Ambient.Value = shared;
        try
        {
            // Completes synchronously on SQLite; if some part of it did not, the writer waits for it (the ambient
            // connection flows with it).
            write.Work(shared.Inner, shared.Transaction).GetAwaiter().GetResult();
        }
        finally
        {
            Ambient.Value = null;
        }
    }

    private sealed record Write(Func<SqliteConnection, SqliteTransaction, Task> Work, Action? Undo)
    {
        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>
    /// The writer's open connection, in its transaction, as Orleans' storage sees it: opening and closing it do
    /// nothing, and its commands run in the shared transaction.
    /// </summary>
    public sealed class SharedConnection(SqliteConnection inner, SqliteTransaction transaction, string path) : DbConnection
    {
        public SqliteConnection Inner => inner;
        public SqliteTransaction Transaction => transaction;
        public string Path => path;

        [AllowNull]
        public override string ConnectionString
        {
            get => inner.ConnectionString;
            set => throw new NotSupportedException("the writer's shared connection cannot be pointed elsewhere");
        }

        public override string Database => inner.Database;
        public override string DataSource => inner.DataSource;
        public override string ServerVersion => inner.ServerVersion;
        public override ConnectionState State => ConnectionState.Open;

        public override void Open()
        {
        }

        public override Task OpenAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public override void Close()
        {
        }

        public override void ChangeDatabase(string databaseName) => throw new NotSupportedException("the writer's shared connection cannot change database");

        protected override DbTransaction BeginDbTransaction(IsolationLevel isolationLevel) =>
            throw new NotSupportedException("a write of the SQLite writer runs in its shared transaction and cannot start another");

        protected override DbCommand CreateDbCommand()
        {
            var command = inner.CreateCommand();
            command.Transaction = transaction;
            return command;
        }
    }

    /// <summary>Orleans' ADO.NET grain storage with its writes and deletes made by the writer, in its shared transactions; reads go straight through (WAL).</summary>
    public sealed class GrainStorage(IGrainStorage inner, SqliteWriteGate writer) : IGrainStorage
    {
        public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) => inner.ReadStateAsync(stateName, grainId, grainState);

        public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
            writer.RunAsync((_, _) => inner.WriteStateAsync(stateName, grainId, grainState), Remember(grainState));

        public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
            writer.RunAsync((_, _) => inner.ClearStateAsync(stateName, grainId, grainState), Remember(grainState));

        /// <summary>
        /// Orleans sets the new version on the state (and, clearing, a new empty state) once the row is written: a
        /// rolled-back write puts back what was there.
        /// </summary>
        private static Action Remember<T>(IGrainState<T> grainState)
        {
            var (etag, exists, state) = (grainState.ETag, grainState.RecordExists, grainState.State);
            return () => (grainState.ETag, grainState.RecordExists, grainState.State) = (etag, exists, state);
        }
    }
}
