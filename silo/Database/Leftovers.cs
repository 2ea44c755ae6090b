using DeviceTrust.Core.Audit;
using DeviceTrust.Grains;
using DeviceTrust.Grains.Maintenance;
using DeviceTrust.Grains.ReadModels;
using DeviceTrust.Silo.Hosting;

namespace DeviceTrust.Silo.Database;

/// <summary>
/// Deletes the rows of enrollment tokens, web console sessions and device web tokens that expired long ago, in batches
/// (short transactions next to live traffic), and audits how many went. Each expires whether or not its row is there:
/// this only keeps the table small.
/// </summary>
public sealed class Leftovers(DeviceTrustHostOptions options, string serviceId, IAuditLog audit, TimeProvider time) : ILeftovers
{
    private const int Batch = 5000;
    private readonly string _connectionString = options.Storage.ConnectionStringFor(options);

    public async Task<int> RemoveExpiredTokensAsync(DateTimeOffset expiredBefore, CancellationToken cancellationToken)
    {
        var removed = await RemoveAsync(StateNames.EnrollToken, ["Expires"], expiredBefore, cancellationToken);
        if (removed > 0)
        {
            await audit.AppendAsync(new AuditEntry(time.GetUtcNow(), AuditCodes.DeviceTokenSweep, true, "(cluster)", "", "", "", "", "",
                $"removed {removed} enrollment token(s) that expired before {expiredBefore:u}")
            {
                Details = $$"""{"removed":{{removed}}}""",
            }, CancellationToken.None);
        }
        return removed;
    }

    public async Task<int> RemoveExpiredWebStateAsync(DateTimeOffset expiredBefore, CancellationToken cancellationToken)
    {
        var sessions = await RemoveAsync(StateNames.WebSession, ["Expires"], expiredBefore, cancellationToken);
        var secrets = await RemoveAsync(StateNames.DeviceWebToken, ["Token", "Expires"], expiredBefore, cancellationToken);
        if (sessions + secrets > 0)
        {
            await audit.AppendAsync(new AuditEntry(time.GetUtcNow(), AuditCodes.WebSweep, true, "(cluster)", "", "", "", "", "",
                $"removed {sessions} web console session(s) and {secrets} device web token(s) that expired before {expiredBefore:u}")
            {
                Details = $$"""{"sessions":{{sessions}},"device_web_tokens":{{secrets}}}""",
            }, CancellationToken.None);
        }
        return sessions + secrets;
    }

    /// <summary>Deletes, in batches, the rows of <paramref name="stateName"/> whose expiry (at <paramref name="expiresAt"/> in the payload) is before the cutoff.</summary>
    private async Task<int> RemoveAsync(string stateName, string[] expiresAt, DateTimeOffset expiredBefore, CancellationToken cancellationToken)
    {
        var expired = options.Storage.IsSqlite
            ? $"julianday(json_extract(payload, '$.{string.Join('.', expiresAt)}')) < julianday(@cutoff)"
            : $"(payload #>> '{{{string.Join(',', expiresAt)}}}')::timestamptz < @cutoff";
        var row = options.Storage.IsSqlite ? "rowid" : "ctid";
        var sql =
            $"""
             DELETE FROM grain_state WHERE {row} IN (
                 SELECT {row} FROM grain_state
                 WHERE service_id = @service AND state_name = '{stateName}' AND payload IS NOT NULL AND {expired}
                 LIMIT {Batch});
             """;
        var removed = 0;
        while (true)
        {
            await using var connection = DatabaseSchema.Open(options.Storage, _connectionString);
            await connection.OpenAsync(cancellationToken);
            await using var command = connection.CreateCommand();
            command.CommandText = sql;
            command.With("service", serviceId);
            command.With("cutoff", options.Storage.IsSqlite ? expiredBefore.UtcDateTime.ToString("O") : expiredBefore.UtcDateTime);
            var batch = await command.ExecuteNonQueryAsync(cancellationToken);
            removed += batch;
            if (batch < Batch)
            {
                return removed;
            }
        }
    }
}
