using System.Text;
using System.Text.Json;
using DeviceTrust.Core.Devices;
using DeviceTrust.Core.Errors;
using DeviceTrust.Core.Secrets;
using DeviceTrust.Grains.Inventory;
using DeviceTrust.Grains.ReadModels;
using DeviceTrust.Grains.Serialization;
using DeviceTrust.Silo.Hosting;

namespace DeviceTrust.Silo.Database;

/// <summary>
/// The inventory as one indexed query over the device rows of the grain state table (no grain per row, no second
/// write path): a page in (asset tag, OS, id) order, or the devices a user owns.
/// </summary>
public sealed class DeviceInventoryQuery(DeviceTrustHostOptions options, string serviceId) : IDeviceInventory
{
    private readonly string _connectionString = options.Storage.ConnectionStringFor(options);

    private string Field(string name) => options.Storage.IsSqlite ? $"json_extract(payload, '$.Device.{name}')" : $"(payload #>> '{{Device,{name}}}')";

    /// <summary>
    /// (asset tag, OS, id) after the page token's. SQLite serves a row-value comparison of expressions with no index
    /// range, so every page walked the index from the start (1.4 s for the last page of a million); spelled out, the
    /// asset tag bound is a range on the index and the rest filters the few rows of the same tag.
    /// </summary>
    private string After => options.Storage.IsSqlite
        ? $"{Field("AssetTag")} >= @tag AND ({Field("AssetTag")} > @tag OR {Field("OsType")} > @os OR ({Field("OsType")} = @os AND {Field("Id")} > @id))"
        : $"({Field("AssetTag")}, {Field("OsType")}, {Field("Id")}) > (@tag, @os, @id)";

    /// <summary>The statement behind <see cref="ListAsync"/> (parameters @service, @tag, @os, @id, @limit), for plan checks.</summary>
    public string PageSql =>
        $"""
         SELECT {PayloadText} FROM grain_state
         WHERE state_name = 'device' AND service_id = @service AND payload IS NOT NULL
           AND {After}
         ORDER BY {Field("AssetTag")}, {Field("OsType")}, {Field("Id")} LIMIT @limit;
         """;

    private string PayloadText => options.Storage.IsSqlite ? "payload" : "payload::text";

    /// <summary>The payload without the collected-data history and the boot record: a sync reads whole sources of devices at once, and those are most of each row.</summary>
    private string PayloadWithoutHistory => options.Storage.IsSqlite
        ? "json_set(json_remove(payload, '$.Device.LastBoot'), '$.Device.CollectedData', json('[]'))"
        : "jsonb_set(payload #- '{Device,LastBoot}', '{Device,CollectedData}', '[]'::jsonb)::text";

    public async Task<Page<DeviceRecord>> ListAsync(int pageSize, string pageToken, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(pageSize, IDeviceInventory.MaxPageSize);
        var (tag, os, id) = DecodeToken(pageToken);
        var devices = await QueryAsync(PageSql, cancellationToken, ("tag", tag), ("os", os), ("id", id), ("limit", pageSize + 1));
        if (devices.Count <= pageSize)
        {
            return new(devices, "");
        }
        var last = devices[pageSize - 1];
        return new(devices.Take(pageSize).ToList(), EncodeToken(last));
    }

    public async Task<IReadOnlyList<DeviceRecord>> OwnedByAsync(string userId, CancellationToken cancellationToken) =>
        await QueryAsync(
            $"""
             SELECT {PayloadText} FROM grain_state
             WHERE state_name = 'device' AND service_id = @service AND payload IS NOT NULL AND {Field("OwnerId")} = @owner
             ORDER BY {Field("AssetTag")}, {Field("OsType")} LIMIT 1000;
             """, cancellationToken, ("owner", userId));

    public async Task<IReadOnlyList<DeviceRecord>> WithAssetTagsAsync(IReadOnlyCollection<string> assetTags, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(assetTags.Count, IDeviceInventory.MaxTags);
        if (assetTags.Count == 0)
        {
            return [];
        }
        var sqlite = options.Storage.IsSqlite;
        return await QueryAsync(
            $"""
             SELECT {PayloadWithoutHistory} FROM grain_state
             WHERE state_name = 'device' AND service_id = @service AND payload IS NOT NULL
               AND {Field("AssetTag")} {(sqlite ? "IN (SELECT value FROM json_each(@tags))" : "= ANY(@tags)")};
             """, cancellationToken, ("tags", sqlite ? JsonSerializer.Serialize(assetTags) : assetTags.ToArray()));
    }

    public async Task<IReadOnlyList<DeviceRecord>> FromSourceAsync(DeviceSource source, string sourceName, CancellationToken cancellationToken) =>
        await QueryAsync(
            $"""
             SELECT {PayloadWithoutHistory} FROM grain_state
             WHERE state_name = 'device' AND service_id = @service AND payload IS NOT NULL
               AND {Field("Source")} = @source AND {Field("SourceName")} = @name
             ORDER BY {Field("AssetTag")}, {Field("OsType")};
             """, cancellationToken, ("source", source.ToString()), ("name", sourceName));

    private async Task<List<DeviceRecord>> QueryAsync(string sql, CancellationToken cancellationToken, params (string Name, object Value)[] parameters)
    {
        await using var connection = DatabaseSchema.Open(options.Storage, _connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.With("service", serviceId);
        foreach (var (name, value) in parameters)
        {
            command.With(name, value);
        }
        var devices = new List<DeviceRecord>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var state = JsonSerializer.Deserialize<DeviceState>(reader.GetString(0), DeviceTrustSerialization.Json);
            if (state?.Device is { } device)
            {
                devices.Add(device);
            }
        }
        return devices;
    }

    private static string EncodeToken(DeviceRecord last) =>
        Base64Url.Encode(Encoding.UTF8.GetBytes($"{last.AssetTag}\n{last.OsType}\n{last.Id}"));

    private static (string Tag, string Os, string Id) DecodeToken(string token)
    {
        if (token.Length == 0)
        {
            return ("", "", "");
        }
        if (token.Length > 400 || !Base64Url.TryDecode(token, out var bytes) || Encoding.UTF8.GetString(bytes).Split('\n') is not [var tag, var os, var id])
        {
            throw DeviceTrustException.InvalidArgument("page_token is not one this server returned");
        }
        return (tag, os, id);
    }
}
