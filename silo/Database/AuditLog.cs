using System.Globalization;
using DeviceTrust.Silo.Hosting;

namespace DeviceTrust.Silo.Database;

/// <summary>One audit event. Empty strings for fields that do not apply.</summary>
public sealed record AuditEntry(
    DateTimeOffset Time,
    string Type,
    bool Success,
    string User,
    string DeviceId,
    string AssetTag,
    string OsType,
    string CredentialId,
    string ClientIp,
    string Message)
{
    public long Id { get; init; }
}

/// <summary>
/// The durable, append-only audit log in the cluster's database. <see cref="AppendAsync"/> returns only after the
/// row is committed, so an RPC that awaits it before answering never reports a success that was not recorded.
/// </summary>
public sealed class AuditLog(DeviceTrustHostOptions options)
{
    public const int MaxPageSize = 1000;
    private const int MaxMessage = 2000;
    private readonly string _connectionString = options.Storage.ConnectionStringFor(options);

    public async Task AppendAsync(AuditEntry entry, CancellationToken cancellationToken = default)
    {
        await using var connection = DatabaseSchema.Open(options.Storage, _connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText =
            """
            INSERT INTO audit_event (time_utc, type, success, user_name, device_id, asset_tag, os_type, credential_id, client_ip, message)
            VALUES (@time, @type, @success, @user, @device, @tag, @os, @credential, @ip, @message);
            """;
        command.With("time", options.Storage.IsSqlite ? Text(entry.Time) : entry.Time.UtcDateTime);
        command.With("type", entry.Type);
        command.With("success", entry.Success);
        command.With("user", entry.User);
        command.With("device", entry.DeviceId);
        command.With("tag", entry.AssetTag);
        command.With("os", entry.OsType);
        command.With("credential", entry.CredentialId);
        command.With("ip", entry.ClientIp);
        command.With("message", entry.Message.Length > MaxMessage ? entry.Message[..MaxMessage] : entry.Message);
        // Not cancellable: once we decided to record an event, it is recorded.
        await command.ExecuteNonQueryAsync(CancellationToken.None);
    }

    /// <summary>Events after <paramref name="afterId"/>, at or after <paramref name="since"/>, oldest first.</summary>
    public async Task<IReadOnlyList<AuditEntry>> ListAsync(DateTimeOffset since, string? type, long afterId, int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(limit, MaxPageSize + 1);
        await using var connection = DatabaseSchema.Open(options.Storage, _connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText =
            $"""
             SELECT id, time_utc, type, success, user_name, device_id, asset_tag, os_type, credential_id, client_ip, message
             FROM audit_event
             WHERE id > @after AND time_utc >= @since {(string.IsNullOrEmpty(type) ? "" : "AND type = @type")}
             ORDER BY id LIMIT @limit;
             """;
        command.With("after", afterId);
        command.With("since", options.Storage.IsSqlite ? Text(since) : since.UtcDateTime);
        if (!string.IsNullOrEmpty(type))
        {
            command.With("type", type);
        }
        command.With("limit", limit);
        var entries = new List<AuditEntry>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var time = options.Storage.IsSqlite
                ? DateTimeOffset.Parse(reader.GetString(1), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal)
                : new DateTimeOffset(DateTime.SpecifyKind(reader.GetDateTime(1), DateTimeKind.Utc));
            entries.Add(new AuditEntry(time, reader.GetString(2), Convert.ToBoolean(reader.GetValue(3), CultureInfo.InvariantCulture),
                reader.GetString(4), reader.GetString(5), reader.GetString(6), reader.GetString(7), reader.GetString(8), reader.GetString(9),
                reader.GetString(10))
            { Id = reader.GetInt64(0) });
        }
        return entries;
    }

    private static string Text(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);
}
