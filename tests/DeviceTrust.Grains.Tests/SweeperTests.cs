using DeviceTrust.Core.Audit;
using DeviceTrust.Grains.Maintenance;
using DeviceTrust.Grains.Tokens;
using DeviceTrust.Silo.Database;
using DeviceTrust.Silo.Hosting;
using DeviceTrust.Testing;

namespace DeviceTrust.Grains.Tests;

/// <summary>The sweeper removes enrollment tokens long expired, keeps the rest, and audits what it removed.</summary>
public abstract class SweeperContract : IAsyncLifetime
{
    private SiloHarness _silo = null!;

    protected abstract Task<DeviceTrustHostOptions> DatabaseAsync();

    public async Task InitializeAsync() => _silo = await SiloHarness.StartAsync(await DatabaseAsync());

    public async Task DisposeAsync() => await _silo.DisposeAsync();

    private async Task<long> StoredTokensAsync()
    {
        var options = _silo.Options;
        await using var connection = DatabaseSchema.Open(options.Storage, options.Storage.ConnectionStringFor(options));
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT count(*) FROM grain_state WHERE state_name = 'enroll-token' AND payload IS NOT NULL";
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private async Task<IEnrollTokenGrain> TokenAsync(DateTimeOffset expires)
    {
        var token = _silo.Grains.GetGrain<IEnrollTokenGrain>(Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)));
        await token.CreateAsync(Guid.NewGuid(), expires, "test", autoEnroll: false);
        return token;
    }

    [Fact]
    public async Task Tokens_expired_longer_than_the_retention_are_removed_and_audited_and_the_rest_stay()
    {
        var now = _silo.Clock.GetUtcNow();
        await TokenAsync(now.AddMinutes(1));
        var spent = await TokenAsync(now.AddMinutes(1));
        await spent.SpendAsync(spenderMayEnroll: true);
        await TokenAsync(now.AddDays(30));
        await TokenAsync(now + Sweeping.Retention + TimeSpan.FromHours(12));
        Assert.Equal(4, await StoredTokensAsync());

        _silo.Clock.Advance(Sweeping.Retention + TimeSpan.FromDays(1));
        var sweeper = _silo.Grains.GetGrain<ISweeperGrain>(GrainKeys.Cluster);
        Assert.Equal(2, await sweeper.SweepAsync());
        Assert.Equal(2, await StoredTokensAsync());
        var audited = await new AuditLog(_silo.Options).ListAsync(
            new AuditQuery(DateTimeOffset.MinValue, null, AuditCodes.DeviceTokenSweep, null, null, null, 0, 10), default);
        var entry = Assert.Single(audited);
        Assert.True(entry.Success);
        Assert.Equal("(cluster)", entry.User);
        Assert.StartsWith("removed 2 enrollment token(s) that expired before ", entry.Message, StringComparison.Ordinal);
        Assert.Equal("""{"removed":2}""", entry.Details);

        // Nothing more to remove: no second audit event.
        Assert.Equal(0, await sweeper.SweepAsync());
        Assert.Single(await new AuditLog(_silo.Options).ListAsync(
            new AuditQuery(DateTimeOffset.MinValue, null, AuditCodes.DeviceTokenSweep, null, null, null, 0, 10), default));
    }

    private async Task<long> StoredAsync(string stateName)
    {
        var options = _silo.Options;
        await using var connection = DatabaseSchema.Open(options.Storage, options.Storage.ConnectionStringFor(options));
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT count(*) FROM grain_state WHERE state_name = '{stateName}' AND payload IS NOT NULL";
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static string NewKey() => Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));

    [Fact]
    public async Task Web_sessions_and_device_web_tokens_long_expired_are_removed_and_audited_and_live_ones_stay()
    {
        var now = _silo.Clock.GetUtcNow();
        var start = new Web.WebSessionStart(Guid.NewGuid().ToString(), "alice", "10.0.0.5", TimeSpan.FromMinutes(15), TimeSpan.FromHours(12));
        await _silo.Grains.GetGrain<Web.IWebSessionGrain>(NewKey()).StartAsync(start);
        await _silo.Grains.GetGrain<Web.IDeviceWebTokenGrain>(NewKey()).CreateAsync(
            new Web.DeviceWebToken(Web.DeviceWebTokenKind.WebToken, "s", start.UserId, "alice", "10.0.0.5", now + Web.DeviceWebToken.Lifetime));
        _silo.Clock.Advance(Sweeping.Retention + TimeSpan.FromDays(1));
        // made now: not expired, kept
        var live = _silo.Grains.GetGrain<Web.IWebSessionGrain>(NewKey());
        await live.StartAsync(start);
        Assert.Equal((2, 1), (await StoredAsync("web-session"), await StoredAsync("device-web-token")));

        Assert.Equal(2, await _silo.Grains.GetGrain<ISweeperGrain>(GrainKeys.Cluster).SweepAsync());
        Assert.Equal((1, 0), (await StoredAsync("web-session"), await StoredAsync("device-web-token")));
        Assert.NotNull(await live.TouchAsync());
        var entry = Assert.Single(await new AuditLog(_silo.Options).ListAsync(
            new AuditQuery(DateTimeOffset.MinValue, null, AuditCodes.WebSweep, null, null, null, 0, 10), default));
        Assert.Equal("""{"sessions":1,"device_web_tokens":1}""", entry.Details);
        Assert.StartsWith("removed 1 web console session(s) and 1 device web token(s) that expired before ", entry.Message, StringComparison.Ordinal);
    }
}

public sealed class SqliteSweeperTests : SweeperContract, IDisposable
{
    private readonly TempDirectory _directory = new("dt-sweep");

    protected override Task<DeviceTrustHostOptions> DatabaseAsync() => Task.FromResult(SiloHarness.Sqlite(_directory.Path));

    public void Dispose() => _directory.Dispose();
}

public sealed class PostgresSweeperTests : SweeperContract
{
    protected override async Task<DeviceTrustHostOptions> DatabaseAsync() =>
        SiloHarness.Postgres(await (await PostgresServer.SharedAsync()).CreateDatabaseAsync());
}
