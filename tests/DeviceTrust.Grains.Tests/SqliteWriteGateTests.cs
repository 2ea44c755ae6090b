using DeviceTrust.Silo.Database;
using DeviceTrust.Testing;
using Microsoft.Data.Sqlite;

namespace DeviceTrust.Grains.Tests;

/// <summary>
/// The SQLite writer's group commit, at its own interface: writes queued while one runs share the next transaction;
/// one the database refuses fails alone, and the others are committed once each.
/// </summary>
public sealed class SqliteWriteGateTests : IDisposable
{
    private readonly TempDirectory _directory = new("dt-gate");
    private readonly string _connectionString;
    private readonly SqliteWriteGate _gate;

    public SqliteWriteGateTests()
    {
        _connectionString = new SqliteConnectionStringBuilder { DataSource = Path.Combine(_directory.Path, "gate.db") }.ToString();
        using var connection = SqliteLockWait.Connection(_connectionString);
        connection.Open();
        using var create = connection.CreateCommand();
        create.CommandText = """
            PRAGMA journal_mode=WAL;
            CREATE TABLE item (name TEXT PRIMARY KEY) STRICT;
            CREATE TRIGGER item_refused BEFORE INSERT ON item WHEN NEW.name LIKE 'refused%' BEGIN SELECT RAISE(ABORT, 'this item is refused'); END;
            """;
        create.ExecuteNonQuery();
        _gate = SqliteWriteGate.For(_connectionString);
    }

    public void Dispose() => _directory.Dispose();

    private static Func<SqliteConnection, SqliteTransaction, Task> Insert(string name, Action? ran = null) => async (connection, transaction) =>
    {
        ran?.Invoke();
        await using var insert = connection.CreateCommand();
        insert.Transaction = transaction;
        insert.CommandText = "INSERT INTO item (name) VALUES ($name)";
        insert.Parameters.AddWithValue("$name", name);
        await insert.ExecuteNonQueryAsync();
    };

    private List<string> Stored()
    {
        using var connection = SqliteLockWait.Connection(_connectionString);
        connection.Open();
        using var select = connection.CreateCommand();
        select.CommandText = "SELECT name FROM item ORDER BY name";
        using var reader = select.ExecuteReader();
        var names = new List<string>();
        while (reader.Read())
        {
            names.Add(reader.GetString(0));
        }
        return names;
    }

    /// <summary>Holds the writer in a first write until the rest are queued, so they form one batch.</summary>
    private async Task<List<Task>> QueuedTogetherAsync(IEnumerable<(Func<SqliteConnection, SqliteTransaction, Task> Write, Action? Undo)> writes)
    {
        using var holding = new ManualResetEventSlim();
        using var entered = new SemaphoreSlim(0);
        var first = _gate.RunAsync(Insert("first", () =>
        {
            entered.Release();
            holding.Wait(TimeSpan.FromSeconds(30));
        }));
        await entered.WaitAsync(TimeSpan.FromSeconds(30));
        var rest = writes.Select(w => _gate.RunAsync(w.Write, w.Undo)).ToList();
        holding.Set();
        await first;
        return rest;
    }

    [Fact]
    public async Task Writes_queued_together_commit_in_one_transaction_and_see_the_shared_connection()
    {
        var transactions = new HashSet<SqliteTransaction>();
        var ambient = new List<bool>();
        var writes = Enumerable.Range(0, 20).Select(i => ((Func<SqliteConnection, SqliteTransaction, Task>)(async (connection, transaction) =>
        {
            transactions.Add(transaction);
            // What Orleans' storage opens while it writes for the writer is the writer's own connection, in its transaction.
            await using var opened = new SqliteLockWait.DataSource(_connectionString).OpenConnection();
            ambient.Add(opened is SqliteWriteGate.SharedConnection shared && shared.Transaction == transaction);
            await Insert($"item-{i:D2}")(connection, transaction);
        }), (Action?)null));
        await Task.WhenAll(await QueuedTogetherAsync(writes));

        Assert.Single(transactions);
        Assert.All(ambient, Assert.True);
        Assert.Equal(["first", .. Enumerable.Range(0, 20).Select(i => $"item-{i:D2}")], Stored());
        // Outside the writer, a connection is a connection of its own.
        await using var outside = new SqliteLockWait.DataSource(_connectionString).OpenConnection();
        Assert.IsType<SqliteConnection>(outside);
    }

    [Fact]
    public async Task A_write_the_database_refuses_fails_alone_and_the_others_are_committed_once()
    {
        var runs = new int[5];
        var undone = new int[5];
        var names = new[] { "a", "b", "refused-c", "d", "e" };
        var tasks = await QueuedTogetherAsync(names.Select<string, (Func<SqliteConnection, SqliteTransaction, Task>, Action?)>((name, i) =>
            (Insert(name, () => Interlocked.Increment(ref runs[i])), () => Interlocked.Increment(ref undone[i]))));

        var refused = await Assert.ThrowsAsync<SqliteException>(() => tasks[2]);
        Assert.Contains("this item is refused", refused.Message, StringComparison.Ordinal);
        await Task.WhenAll(tasks.Where((_, i) => i != 2));

        Assert.Equal(["a", "b", "d", "e", "first"], Stored());
        // The shared transaction stopped at the refusal and was rolled back (everything undone once), then each write
        // was made again alone: the ones before it twice, the ones after it once.
        Assert.Equal([2, 2, 2, 1, 1], runs);
        Assert.Equal([1, 1, 2, 1, 1], undone);
    }

    [Fact]
    public async Task A_write_that_throws_takes_what_it_half_wrote_with_it()
    {
        var tasks = await QueuedTogetherAsync([
            (Insert("x"), null),
            (async (connection, transaction) =>
            {
                await Insert("half")(connection, transaction);
                throw new InvalidOperationException("the version the grain read is not the stored one");
            }, null),
            (Insert("y"), null),
        ]);
        var failure = await Assert.ThrowsAsync<InvalidOperationException>(() => tasks[1]);
        Assert.Equal("the version the grain read is not the stored one", failure.Message);
        await Task.WhenAll(tasks[0], tasks[2]);
        Assert.Equal(["first", "x", "y"], Stored());
    }
}
