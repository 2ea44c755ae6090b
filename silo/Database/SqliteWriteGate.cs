using System.Collections.Concurrent;
using Microsoft.Data.Sqlite;
using Orleans.Storage;

namespace DeviceTrust.Silo.Database;

/// <summary>
/// One writer per SQLite database in this process: a thread of its own that runs the writes one after another, in
/// arrival order. SQLite lets one connection write at a time. A writer that found the lock taken slept in SQLite's
/// busy handler (1, 2, 5, 10 … 100 ms), so under a storm the lock sat free while its waiters slept; and an async lock
/// hands over through the thread pool, so the next writer waited behind the storm's other work while holding its
/// turn. Here the writes run back to back on one thread (Microsoft.Data.Sqlite's async calls complete synchronously),
/// and each caller's task completes on the thread pool. The busy timeout (<see cref="SqliteLockWait"/>) still
/// guards against other processes (the CLI's <c>db</c> commands) and writers that do not pass through here.
/// </summary>
public sealed class SqliteWriteGate
{
    private static readonly ConcurrentDictionary<string, SqliteWriteGate> Gates = new(StringComparer.Ordinal);

    private readonly BlockingCollection<Action> _writes = [];

    private SqliteWriteGate(string path)
    {
        var thread = new Thread(Run) { IsBackground = true, Name = "SQLite writer " + Path.GetFileName(path) };
        thread.Start();
    }

    /// <summary>The writer of the database file a connection string names.</summary>
    public static SqliteWriteGate For(string connectionString) =>
        Gates.GetOrAdd(Path.GetFullPath(new SqliteConnectionStringBuilder(connectionString).DataSource), path => new SqliteWriteGate(path));

    /// <summary>Runs <paramref name="write"/> on the writer thread; not cancellable once queued (a decided write is made).</summary>
    public Task<T> RunAsync<T>(Func<Task<T>> write)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        _writes.Add(() =>
        {
            try
            {
                // Completes synchronously on SQLite; if some part of it did not, the writer waits for it.
                done.TrySetResult(write().GetAwaiter().GetResult());
            }
            catch (Exception e)
            {
                done.TrySetException(e);
            }
        });
        return done.Task;
    }

    public Task RunAsync(Func<Task> write) => RunAsync(async () =>
    {
        await write();
        return true;
    });

    private void Run()
    {
        foreach (var write in _writes.GetConsumingEnumerable())
        {
            write();
        }
    }

    /// <summary>Orleans' ADO.NET grain storage with its writes and deletes made by the writer; reads go straight through (WAL).</summary>
    public sealed class GrainStorage(IGrainStorage inner, SqliteWriteGate writer) : IGrainStorage
    {
        public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) => inner.ReadStateAsync(stateName, grainId, grainState);

        public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
            writer.RunAsync(() => inner.WriteStateAsync(stateName, grainId, grainState));

        public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
            writer.RunAsync(() => inner.ClearStateAsync(stateName, grainId, grainState));
    }
}
