using System.Collections.Concurrent;
using DeviceTrust.Core.Audit;
using DeviceTrust.Silo.Hosting;

namespace DeviceTrust.Silo.Database;

/// <summary>
/// Group commit for the audit log: events appended while a transaction is committing wait for the next one, which
/// takes them all. A caller still returns only once its events are committed; a login storm's audit writes cost one
/// transaction per batch instead of one each (on SQLite, one turn at the write lock). Each caller's events stay
/// together and in order, and a batch that fails is written again caller by caller, so one caller's bad event cannot
/// fail the others'.
/// </summary>
internal sealed class AuditGroupCommit
{
    /// <summary>Events per transaction at most; a caller's own events are never split.</summary>
    internal const int MaxBatch = 512;

    private static readonly ConcurrentDictionary<string, AuditGroupCommit> Logs = new(StringComparer.Ordinal);

    private readonly ConcurrentQueue<Pending> _queue = new();
    private readonly DeviceTrustHostOptions _options;
    private readonly string _connectionString;
    private readonly SqliteWriteGate? _writer;
    private int _flushing;

    private AuditGroupCommit(DeviceTrustHostOptions options, string connectionString)
    {
        _options = options;
        _connectionString = connectionString;
        _writer = options.Storage.IsSqlite ? SqliteWriteGate.For(connectionString) : null;
    }

    /// <summary>The one group commit of a database in this process, whichever <see cref="AuditLog"/> appends to it.</summary>
    public static AuditGroupCommit For(DeviceTrustHostOptions options, string connectionString) =>
        Logs.GetOrAdd(options.Storage.Provider + "\n" + connectionString, _ => new AuditGroupCommit(options, connectionString));

    public Task AppendAsync(IReadOnlyList<AuditEntry> entries)
    {
        var pending = new Pending(entries, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        _queue.Enqueue(pending);
        if (Interlocked.CompareExchange(ref _flushing, 1, 0) == 0)
        {
            _ = Task.Run(FlushAsync);
        }
        return pending.Done.Task;
    }

    /// <summary>Writes batches until the queue is empty; one flusher at a time.</summary>
    private async Task FlushAsync()
    {
        while (true)
        {
            var batch = new List<Pending>();
            var count = 0;
            while (_queue.TryPeek(out var next) && (batch.Count == 0 || count + next.Entries.Count <= MaxBatch) && _queue.TryDequeue(out next))
            {
                batch.Add(next);
                count += next.Entries.Count;
            }
            if (batch.Count == 0)
            {
                Volatile.Write(ref _flushing, 0);
                // An event queued after the last look and before the flag dropped has no flusher yet: take it on.
                if (_queue.IsEmpty || Interlocked.CompareExchange(ref _flushing, 1, 0) != 0)
                {
                    return;
                }
                continue;
            }
            await WriteAsync(batch);
        }
    }

    private async Task WriteAsync(List<Pending> batch)
    {
        try
        {
            await CommitAsync(batch.SelectMany(p => p.Entries).ToList());
            batch.ForEach(p => p.Done.TrySetResult());
            return;
        }
        catch (Exception) when (batch.Count > 1)
        {
            // Written again one caller at a time below: only the caller whose events fail sees the failure.
        }
        catch (Exception e)
        {
            batch[0].Done.TrySetException(e);
            return;
        }
        foreach (var pending in batch)
        {
            try
            {
                await CommitAsync(pending.Entries);
                pending.Done.TrySetResult();
            }
            catch (Exception e)
            {
                pending.Done.TrySetException(e);
            }
        }
    }

    /// <summary>On SQLite, in the writer's next transaction, shared with the grain state written at the same moment.</summary>
    private Task CommitAsync(IReadOnlyList<AuditEntry> entries) =>
        _writer is null
            ? InsertAsync(entries)
            : _writer.RunAsync((connection, transaction) => AuditLog.InsertAllAsync(connection, transaction, entries, sqlite: true, CancellationToken.None));

    private async Task InsertAsync(IReadOnlyList<AuditEntry> entries)
    {
        await using var connection = DatabaseSchema.Open(_options.Storage, _connectionString);
        await connection.OpenAsync(CancellationToken.None);
        await using var transaction = await connection.BeginTransactionAsync(CancellationToken.None);
        await AuditLog.InsertAllAsync(connection, transaction, entries, _options.Storage.IsSqlite, CancellationToken.None);
        await transaction.CommitAsync(CancellationToken.None);
    }

    private sealed record Pending(IReadOnlyList<AuditEntry> Entries, TaskCompletionSource Done);
}
