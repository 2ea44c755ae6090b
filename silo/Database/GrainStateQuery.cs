using System.Text.Json;
using DeviceTrust.Grains.Serialization;
using DeviceTrust.Silo.Hosting;

namespace DeviceTrust.Silo.Database;

/// <summary>
/// Reads stored grain states of one kind straight from the database, in key order, a page at a time: listing
/// never activates a grain per row. The JSON is what the grains wrote, read with the same serializer settings.
/// </summary>
public sealed class GrainStateQuery(DeviceTrustHostOptions options, string serviceId)
{
    public const int MaxPageSize = 200;

    private readonly string _connectionString = options.Storage.ConnectionStringFor(options);

    /// <summary>
    /// States whose string key sorts after <paramref name="afterKey"/>, at most <paramref name="limit"/> (a page and
    /// one row of look-ahead to tell whether another page follows).
    /// </summary>
    public async Task<IReadOnlyList<(string Key, T State)>> ListAsync<T>(string stateName, string afterKey, int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(limit, MaxPageSize + 1);
        var payload = options.Storage.IsSqlite ? "payload" : "payload::text";
        await using var connection = DatabaseSchema.Open(options.Storage, _connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText =
            $"""
             SELECT grain_id_ext, {payload} FROM grain_state
             WHERE service_id = @service AND state_name = @state AND payload IS NOT NULL AND grain_id_ext > @after
             ORDER BY grain_id_ext LIMIT @limit;
             """;
        command.With("service", serviceId);
        command.With("state", stateName);
        command.With("after", afterKey);
        command.With("limit", limit);
        var rows = new List<(string, T)>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var state = JsonSerializer.Deserialize<T>(reader.GetString(1), DeviceTrustSerialization.Json)
                        ?? throw new InvalidDataException($"stored {stateName} state is null");
            rows.Add((reader.GetString(0), state));
        }
        return rows;
    }
}
