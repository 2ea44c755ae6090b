using DeviceTrust.Core.Audit;
using DeviceTrust.Grains;
using DeviceTrust.Grains.Maintenance;
using DeviceTrust.Grains.ReadModels;
using DeviceTrust.Silo.Hosting;

namespace DeviceTrust.Silo.Database;

/// <summary>
/// Deletes the rows of enrollment tokens that expired long ago, in batches (short transactions next to live traffic),
/// and audits how many went. A token expires whether or not its row is there: this only keeps the table small.
/// </summary>
public sealed class Leftovers(DeviceTrustHostOptions options, string serviceId, IAuditLog audit, TimeProvider time) : ILeftovers
{
    private const int Batch = 5000;
    private readonly string _connectionString = options.Storage.ConnectionStringFor(options);

    public async Task<int> RemoveExpiredTokensAsync(DateTimeOffset expiredBefore, CancellationToken cancellationToken)
    {
        var expired = options.Storage.IsSqlite
            ? "julianday(json_extract(payload, '$.Expires')) < julianday(@cutoff)"
            : "(payload ->> 'Expires')::timestamptz < @cutoff";
        var row = options.Storage.IsSqlite ? "rowid" : "ctid";
        var sql =
            $"""
             DELETE FROM grain_state WHERE {row} IN (
                 SELECT {row} FROM grain_state
                 WHERE service_id = @service AND state_name = '{StateNames.EnrollToken}' AND payload IS NOT NULL AND {expired}
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
                break;
            }
        }
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
}
