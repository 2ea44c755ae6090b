using DeviceTrust.Testing;

namespace DeviceTrust.Grains.Tests;

/// <summary>One cluster on a fresh SQLite file, shared by the grain behaviour tests of a class.</summary>
public sealed class SqliteClusterFixture : IAsyncLifetime
{
    private readonly TempDirectory _directory = new("dt-grains");

    public SiloHarness Silo { get; private set; } = null!;

    public async Task InitializeAsync() => Silo = await SiloHarness.StartAsync(SiloHarness.Sqlite(_directory.Path));

    public async Task DisposeAsync()
    {
        await Silo.DisposeAsync();
        _directory.Dispose();
    }
}

/// <summary>
/// The same on a fresh database of the shared throwaway PostgreSQL: the behaviour suites run on both, since
/// production runs on PostgreSQL.
/// </summary>
public sealed class PostgresClusterFixture : IAsyncLifetime
{
    public SiloHarness Silo { get; private set; } = null!;

    public async Task InitializeAsync() =>
        Silo = await SiloHarness.StartAsync(SiloHarness.Postgres(await (await PostgresServer.SharedAsync()).CreateDatabaseAsync()));

    public async Task DisposeAsync() => await Silo.DisposeAsync();
}
