using System.Data.Common;
using System.Text;
using System.Text.Json;
using DeviceTrust.Core.Audit;
using DeviceTrust.Core.Devices;
using DeviceTrust.Grains;
using DeviceTrust.Grains.Inventory;
using DeviceTrust.Grains.Serialization;
using DeviceTrust.Silo.Hosting;
using Orleans.Storage;

namespace DeviceTrust.Silo.Database;

/// <summary>
/// Bulk creation in one transaction per call: the asset tag rows first, insert-only (a tag with any row is left
/// alone), then the device rows and the audit events of exactly the tags claimed. The rows are the ones the grains
/// write through Orleans' ADO.NET provider: the same identity and hash columns, the same JSON, version 1.
/// </summary>
public sealed class DeviceImport(DeviceTrustHostOptions options, string serviceId, TimeProvider time) : IDeviceImport
{
    private const string Now = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";
    private static readonly OrleansDefaultHasher Hasher = new();
    private static readonly int DeviceTypeHash = TypeHash(StateNames.Device);
    private static readonly int TagTypeHash = TypeHash(StateNames.AssetTag);
    private readonly string _connectionString = options.Storage.ConnectionStringFor(options);

    private bool Sqlite => options.Storage.IsSqlite;

    public async Task<IReadOnlyList<ImportOutcome>> CreateAsync(IReadOnlyList<NewDevice> devices, DeviceSource source, string createdBy,
        Func<DeviceRecord, AuditEntry> audit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(devices.Count, IDeviceImport.MaxDevices);
        var now = time.GetUtcNow();
        var rows = devices.Select(d => new Row(AssetTags.Key(d.OsType, d.AssetTag),
            DeviceRecord.New(Guid.NewGuid(), d.OsType, d.AssetTag, source, createdBy, d.PinnedEkSha256, now) with
            {
                Profile = d.Profile is null ? null : d.Profile with { UpdateTime = now },
                SourceName = d.SourceName,
            })).ToList();
        if (rows.Select(r => r.TagKey).Distinct(StringComparer.Ordinal).Count() != rows.Count)
        {
            throw new ArgumentException("each (OS, asset tag) may appear once", nameof(devices));
        }
        if (rows.Count == 0)
        {
            return [];
        }

        await using var connection = DatabaseSchema.Open(options.Storage, _connectionString);
        await connection.OpenAsync(cancellationToken);
        HashSet<string> claimed;
        await using (var transaction = await connection.BeginTransactionAsync(cancellationToken))
        {
            claimed = await ClaimTagsAsync(connection, transaction, rows, cancellationToken);
            var created = rows.Where(r => claimed.Contains(r.TagKey)).ToList();
            if (created.Count > 0)
            {
                await InsertDevicesAsync(connection, transaction, created, cancellationToken);
                await AuditLog.InsertAllAsync(connection, transaction, created.Select(r => audit(r.Device)).ToList(), Sqlite, cancellationToken);
            }
            // Once committing starts it finishes: the caller reports what was committed.
            await transaction.CommitAsync(CancellationToken.None);
        }
        if (!Sqlite && claimed.Count > 0)
        {
            try
            {
                // After the commit, whatever the caller's token says: the rows are there and are reported as such.
                await AnalyzeIfGrownAsync(connection, claimed.Count * 2, CancellationToken.None);
            }
            catch (DbException)
            {
                // Statistics only speed reads up; autovacuum refreshes them later. The import itself succeeded.
            }
        }

        var taken = rows.Where(r => !claimed.Contains(r.TagKey)).Select(r => r.TagKey).ToList();
        var holders = taken.Count == 0 ? [] : await HoldersAsync(connection, taken, cancellationToken);
        var live = holders.Count == 0 ? [] : await LiveDevicesAsync(connection, holders.Values.Distinct().ToList(), cancellationToken);
        return rows.Select(r =>
                claimed.Contains(r.TagKey) ? new ImportOutcome(ImportResult.Created, r.Device.Id)
                : holders.TryGetValue(r.TagKey, out var holder) && live.Contains(holder) ? new ImportOutcome(ImportResult.AlreadyExists, holder)
                : new ImportOutcome(ImportResult.Contested, Guid.Empty))
            .ToList();
    }

    private sealed record Row(string TagKey, DeviceRecord Device)
    {
        public string TagPayload => JsonSerializer.Serialize(new AssetTagState { DeviceId = Device.Id }, DeviceTrustSerialization.Json);

        public string DevicePayload => JsonSerializer.Serialize(new DeviceState { Device = Device }, DeviceTrustSerialization.Json);
    }

    private async Task<HashSet<string>> ClaimTagsAsync(DbConnection connection, DbTransaction transaction, List<Row> rows, CancellationToken cancellationToken)
    {
        var claimed = new HashSet<string>(StringComparer.Ordinal);
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        if (!Sqlite)
        {
            command.CommandText =
                """
                INSERT INTO grain_state (service_id, state_name, grain_id_hash, grain_type_hash, grain_id_n0, grain_id_n1, grain_id_ext, payload, version)
                SELECT @service, @state, t.hash, @typeHash, 0, 0, t.ext, t.payload::jsonb, 1
                FROM unnest(@ext::text[], @hash::int4[], @payload::text[]) AS t(ext, hash, payload)
                ON CONFLICT DO NOTHING
                RETURNING grain_id_ext;
                """;
            command.With("service", serviceId).With("state", StateNames.AssetTag).With("typeHash", TagTypeHash);
            command.With("ext", rows.Select(r => r.TagKey).ToArray());
            command.With("hash", rows.Select(r => StringKeyHash(r.TagKey)).ToArray());
            command.With("payload", rows.Select(r => r.TagPayload).ToArray());
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                claimed.Add(reader.GetString(0));
            }
            return claimed;
        }
        command.CommandText =
            $"""
             INSERT INTO grain_state (service_id, state_name, grain_id_hash, grain_type_hash, grain_id_n0, grain_id_n1, grain_id_ext, payload, version, modified_utc)
             VALUES (@service, @state, @hash, @typeHash, 0, 0, @ext, @payload, 1, {Now})
             ON CONFLICT DO NOTHING;
             """;
        foreach (var row in rows)
        {
            command.Parameters.Clear();
            command.With("service", serviceId).With("state", StateNames.AssetTag).With("typeHash", TagTypeHash);
            command.With("ext", row.TagKey).With("hash", StringKeyHash(row.TagKey)).With("payload", row.TagPayload);
            if (await command.ExecuteNonQueryAsync(cancellationToken) == 1)
            {
                claimed.Add(row.TagKey);
            }
        }
        return claimed;
    }

    private async Task InsertDevicesAsync(DbConnection connection, DbTransaction transaction, List<Row> rows, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        // No ON CONFLICT: the ids are new, and a clash must undo the whole transaction rather than skip a device.
        if (!Sqlite)
        {
            command.CommandText =
                """
                INSERT INTO grain_state (service_id, state_name, grain_id_hash, grain_type_hash, grain_id_n0, grain_id_n1, grain_id_ext, payload, version)
                SELECT @service, @state, t.hash, @typeHash, t.n0, t.n1, NULL, t.payload::jsonb, 1
                FROM unnest(@hash::int4[], @n0::int8[], @n1::int8[], @payload::text[]) AS t(hash, n0, n1, payload);
                """;
            command.With("service", serviceId).With("state", StateNames.Device).With("typeHash", DeviceTypeHash);
            var keys = rows.Select(r => GuidKey(r.Device.Id)).ToList();
            command.With("hash", rows.Select(r => GuidKeyHash(r.Device.Id)).ToArray());
            command.With("n0", keys.Select(k => k.N0).ToArray());
            command.With("n1", keys.Select(k => k.N1).ToArray());
            command.With("payload", rows.Select(r => r.DevicePayload).ToArray());
            await command.ExecuteNonQueryAsync(cancellationToken);
            return;
        }
        command.CommandText =
            $"""
             INSERT INTO grain_state (service_id, state_name, grain_id_hash, grain_type_hash, grain_id_n0, grain_id_n1, grain_id_ext, payload, version, modified_utc)
             VALUES (@service, @state, @hash, @typeHash, @n0, @n1, NULL, @payload, 1, {Now});
             """;
        foreach (var row in rows)
        {
            var (n0, n1) = GuidKey(row.Device.Id);
            command.Parameters.Clear();
            command.With("service", serviceId).With("state", StateNames.Device).With("typeHash", DeviceTypeHash);
            command.With("hash", GuidKeyHash(row.Device.Id)).With("n0", n0).With("n1", n1).With("payload", row.DevicePayload);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    /// <summary>
    /// Refreshes PostgreSQL's statistics of the grain state table when this import added a tenth of its rows or more
    /// (or it has none yet). A table filled by bulk imports faster than autovacuum looks at it has no statistics, and
    /// then the planner read a grain's row through a partial index of every device row instead of its key: 2 ms a read
    /// at 10,000 devices, growing with the fleet, where the key takes 0.02 ms (measured by the MDM sync benchmark).
    /// Without the right to analyze the table, PostgreSQL warns and skips it; autovacuum still does it later.
    /// </summary>
    private static async Task AnalyzeIfGrownAsync(DbConnection connection, int added, CancellationToken cancellationToken)
    {
        await using var estimate = connection.CreateCommand();
        estimate.CommandText = "SELECT reltuples FROM pg_class WHERE oid = 'grain_state'::regclass;";
        var rows = Convert.ToDouble(await estimate.ExecuteScalarAsync(cancellationToken) ?? -1.0, System.Globalization.CultureInfo.InvariantCulture);
        if (rows >= 0 && added * 10.0 < rows)
        {
            return;
        }
        await using var analyze = connection.CreateCommand();
        analyze.CommandText = "ANALYZE grain_state;";
        analyze.CommandTimeout = 300;
        await analyze.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>The device each of these tags' rows names (tags without a row, or with an empty one, are left out).</summary>
    private async Task<Dictionary<string, Guid>> HoldersAsync(DbConnection connection, List<string> tagKeys, CancellationToken cancellationToken)
    {
        var holders = new Dictionary<string, Guid>(StringComparer.Ordinal);
        await using var command = connection.CreateCommand();
        var keys = Sqlite ? "(SELECT value FROM json_each(@keys))" : "(SELECT unnest(@keys::text[]))";
        command.CommandText =
            $"""
             SELECT grain_id_ext, {(Sqlite ? "payload" : "payload::text")} FROM grain_state
             WHERE service_id = @service AND state_name = @state AND payload IS NOT NULL AND grain_id_ext IN {keys};
             """;
        command.With("service", serviceId).With("state", StateNames.AssetTag);
        command.With("keys", Sqlite ? JsonSerializer.Serialize(tagKeys) : tagKeys.ToArray());
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            if (JsonSerializer.Deserialize<AssetTagState>(reader.GetString(1), DeviceTrustSerialization.Json)?.DeviceId is { } holder)
            {
                holders[reader.GetString(0)] = holder;
            }
        }
        return holders;
    }

    /// <summary>Which of these devices have a row with a device in it.</summary>
    private async Task<HashSet<Guid>> LiveDevicesAsync(DbConnection connection, List<Guid> ids, CancellationToken cancellationToken)
    {
        var live = new HashSet<Guid>();
        await using var command = connection.CreateCommand();
        var keys = Sqlite
            ? "(SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(@keys))"
            : "(SELECT * FROM unnest(@n0::int8[], @n1::int8[]))";
        command.CommandText =
            $"""
             SELECT grain_id_n0, grain_id_n1 FROM grain_state
             WHERE service_id = @service AND state_name = @state AND grain_id_ext IS NULL AND payload IS NOT NULL
               AND (grain_id_n0, grain_id_n1) IN {keys};
             """;
        command.With("service", serviceId).With("state", StateNames.Device);
        var pairs = ids.Select(GuidKey).ToList();
        if (Sqlite)
        {
            command.With("keys", JsonSerializer.Serialize(pairs.Select(p => new[] { p.N0, p.N1 })));
        }
        else
        {
            command.With("n0", pairs.Select(p => p.N0).ToArray()).With("n1", pairs.Select(p => p.N1).ToArray());
        }
        var byKey = ids.ToDictionary(GuidKey);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            live.Add(byKey[(reader.GetInt64(0), reader.GetInt64(1))]);
        }
        return live;
    }

    // The provider's key columns (ADONET-CONTRACT.md §2.2): a Guid key is its ToByteArray() bytes as two little-endian
    // longs; the id hash is Orleans' default hasher over the key bytes in reverse order, the type hash over the state
    // name's UTF-8. BulkImportTests compares every column with rows the provider wrote itself.
    internal static (long N0, long N1) GuidKey(Guid id)
    {
        var bytes = id.ToByteArray();
        return (BitConverter.ToInt64(bytes, 0), BitConverter.ToInt64(bytes, 8));
    }

    internal static int GuidKeyHash(Guid id)
    {
        var bytes = id.ToByteArray();
        if (BitConverter.IsLittleEndian)
        {
            Array.Reverse(bytes);
        }
        return Hasher.Hash(bytes);
    }

    internal static int StringKeyHash(string key)
    {
        var bytes = Encoding.UTF8.GetBytes(key);
        if (BitConverter.IsLittleEndian)
        {
            Array.Reverse(bytes);
        }
        return Hasher.Hash(bytes);
    }

    private static int TypeHash(string stateName) => Hasher.Hash(Encoding.UTF8.GetBytes(stateName));
}
