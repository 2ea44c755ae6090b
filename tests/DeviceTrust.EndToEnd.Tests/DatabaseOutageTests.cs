using DeviceTrust.Client.Connection;
using DeviceTrust.Proto.V1;
using DeviceTrust.Testing;
using Grpc.Core;
using Npgsql;

namespace DeviceTrust.EndToEnd.Tests;

/// <summary>
/// A PostgreSQL that refuses the gateway's connections (out of connection slots, as a storm that outgrew
/// <c>max_connections</c> found it): calls are Unavailable with a reason to retry, not internal errors; nothing is
/// half made; and once the database accepts again, the same call works. The gateway connects as a role of its own
/// whose connection limit the test sets to 0 (the server's own limit does not apply to superusers).
/// </summary>
public sealed class DatabaseOutageTests : IAsyncLifetime
{
    private readonly string _role = "dt_limited_" + Guid.NewGuid().ToString("N")[..8];
    private OutageCluster _cluster = null!;
    private PostgresServer _server = null!;

    private sealed class OutageCluster(string connectionString) : GatewayCluster("dt-outage", new Dictionary<string, string?>(GatewayProcess.HighLimits)
    {
        ["DeviceTrust__Storage__Provider"] = "postgresql",
        ["DeviceTrust__Storage__ConnectionString"] = connectionString,
        ["DEVICETRUST_MASTER_KEY"] = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)),
    })
    {
        protected override async Task BeforeStartAsync() =>
            (await ProcessRunner.RunAsync("dotnet", [Binaries.Silo, "db", "init"], environment: Gateway.Environment, timeout: TimeSpan.FromMinutes(1))).Succeeded();
    }

    public async Task InitializeAsync()
    {
        _server = await PostgresServer.SharedAsync();
        var database = new NpgsqlConnectionStringBuilder(await _server.CreateDatabaseAsync()).Database!;
        await AdminAsync($"CREATE ROLE {_role} LOGIN", $"ALTER DATABASE \"{database}\" OWNER TO {_role}");
        var connection = new NpgsqlConnectionStringBuilder(_server.AdminConnectionString) { Database = database, Username = _role, Pooling = true };
        _cluster = new OutageCluster(connection.ConnectionString);
        await _cluster.InitializeAsync();
    }

    public async Task DisposeAsync()
    {
        await _cluster.DisposeAsync();
        await AdminAsync($"ALTER ROLE {_role} CONNECTION LIMIT -1");
    }

    private async Task AdminAsync(params string[] statements)
    {
        await using var connection = new NpgsqlConnection(_server.AdminConnectionString);
        await connection.OpenAsync();
        foreach (var statement in statements)
        {
            await using var command = new NpgsqlCommand(statement, connection);
            await command.ExecuteNonQueryAsync();
        }
    }

    [Fact]
    public async Task A_database_out_of_connections_makes_calls_unavailable_and_they_work_once_it_recovers()
    {
        using var channel = GatewayChannel.ForProfile(_cluster.AdminProfile);
        var devices = new DeviceTrustService.DeviceTrustServiceClient(channel);
        var tag = "OUT" + Guid.NewGuid().ToString("N")[..8].ToUpperInvariant();
        await devices.CreateDeviceAsync(new CreateDeviceRequest { OsType = OSType.Linux, AssetTag = tag + "A" });

        // No connection slot left for the gateway's role, and the connections it pooled are cut.
        await AdminAsync($"ALTER ROLE {_role} CONNECTION LIMIT 0",
            $"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{_role}'");
        foreach (var attempt in Enumerable.Range(0, 3))
        {
            var refused = await Refusals.Of(async () =>
                await devices.CreateDeviceAsync(new CreateDeviceRequest { OsType = OSType.Linux, AssetTag = $"{tag}B{attempt}" }));
            Refusals.Is(StatusCode.Unavailable, "the database did not answer: retry", refused);
        }

        await AdminAsync($"ALTER ROLE {_role} CONNECTION LIMIT -1");
        var created = await devices.CreateDeviceAsync(new CreateDeviceRequest { OsType = OSType.Linux, AssetTag = tag + "C" });
        Assert.Equal(tag + "C", created.AssetTag);
        // What was refused was not made; the audit log, in the same database, could not record the refusals either:
        // the gateway's log has them (an outage of the audit store is not hidden by answering anyway).
        foreach (var attempt in Enumerable.Range(0, 3))
        {
            Assert.Empty((await devices.FindDevicesAsync(new FindDevicesRequest { IdOrTag = $"{tag}B{attempt}" })).Devices);
        }
        Assert.Single((await devices.FindDevicesAsync(new FindDevicesRequest { IdOrTag = tag + "A" })).Devices);
    }
}
