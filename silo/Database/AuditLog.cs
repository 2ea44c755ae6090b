using System.Data.Common;
using System.Globalization;
using System.Text;
using DeviceTrust.Core.Audit;
using DeviceTrust.Grains.ReadModels;
using DeviceTrust.Silo.Hosting;

namespace DeviceTrust.Silo.Database;

/// <summary>
/// The durable, append-only audit log in the cluster's database. <see cref="AppendAsync"/> returns only after the
/// row is committed, so an RPC that awaits it before answering never reports a success that was not recorded.
/// Concurrent appends share transactions (<see cref="AuditGroupCommit"/>).
/// </summary>
public sealed class AuditLog(DeviceTrustHostOptions options) : IAuditLog
{
    private const int MaxMessage = 2000;
    public const int MaxDetails = 160 * 1024;
    private readonly string _connectionString = options.Storage.ConnectionStringFor(options);

    /// <summary>Commits the event together with any others appended meanwhile (<see cref="AuditGroupCommit"/>).</summary>
    public Task AppendAsync(AuditEntry entry, CancellationToken cancellationToken = default) =>
        // Not cancellable: once we decided to record an event, it is recorded.
        AuditGroupCommit.For(options, _connectionString).AppendAsync([entry]);

    /// <summary>Commits the events in one transaction, with no other caller's event between them.</summary>
    public Task AppendAllAsync(IReadOnlyList<AuditEntry> entries, CancellationToken cancellationToken = default) =>
        entries.Count == 0 ? Task.CompletedTask : AuditGroupCommit.For(options, _connectionString).AppendAsync(entries);

    /// <summary>Inserts the events in <paramref name="transaction"/>, which the caller commits with its own change.</summary>
    internal static async Task InsertAllAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<AuditEntry> entries, bool sqlite,
        CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        if (sqlite)
        {
            command.CommandText = InsertSql;
            foreach (var entry in entries)
            {
                Bind(command, entry, sqlite: true);
                await command.ExecuteNonQueryAsync(cancellationToken);
            }
            return;
        }
        var bounded = entries.Select(Bounded).ToList();
        command.CommandText =
            $"""
             INSERT INTO audit_event ({Columns})
             SELECT * FROM unnest(@time::timestamptz[], @type::text[], @success::bool[], @user::text[], @device::text[], @tag::text[], @os::text[],
                                  @credential::text[], @ip::text[], @message::text[], @userId::text[], @target::text[], @status::text[], @details::text[]);
             """;
        command.With("time", bounded.Select(e => e.Time.UtcDateTime).ToArray());
        command.With("type", bounded.Select(e => e.Type).ToArray());
        command.With("success", bounded.Select(e => e.Success).ToArray());
        command.With("user", bounded.Select(e => e.User).ToArray());
        command.With("device", bounded.Select(e => e.DeviceId).ToArray());
        command.With("tag", bounded.Select(e => e.AssetTag).ToArray());
        command.With("os", bounded.Select(e => e.OsType).ToArray());
        command.With("credential", bounded.Select(e => e.CredentialId).ToArray());
        command.With("ip", bounded.Select(e => e.ClientIp).ToArray());
        command.With("message", bounded.Select(e => e.Message).ToArray());
        command.With("userId", bounded.Select(e => e.UserId).ToArray());
        command.With("target", bounded.Select(e => e.Target).ToArray());
        command.With("status", bounded.Select(e => e.Status).ToArray());
        command.With("details", bounded.Select(e => e.Details).ToArray());
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    internal const string Columns = "time_utc, type, success, user_name, device_id, asset_tag, os_type, credential_id, client_ip, message, user_id, target, status, details";

    internal const string InsertSql =
        $"INSERT INTO audit_event ({Columns}) VALUES (@time, @type, @success, @user, @device, @tag, @os, @credential, @ip, @message, @userId, @target, @status, @details);";

    /// <summary>The parameters of <see cref="InsertSql"/> for one event (replacing any the command had).</summary>
    internal static void Bind(DbCommand command, AuditEntry entry, bool sqlite)
    {
        command.Parameters.Clear();
        entry = Bounded(entry);
        command.With("time", sqlite ? Text(entry.Time) : entry.Time.UtcDateTime);
        command.With("type", entry.Type);
        command.With("success", entry.Success);
        command.With("user", entry.User);
        command.With("device", entry.DeviceId);
        command.With("tag", entry.AssetTag);
        command.With("os", entry.OsType);
        command.With("credential", entry.CredentialId);
        command.With("ip", entry.ClientIp);
        command.With("message", entry.Message);
        command.With("userId", entry.UserId);
        command.With("target", entry.Target);
        command.With("status", entry.Status);
        command.With("details", entry.Details);
    }

    /// <summary>
    /// The event as stored: the message cut at <see cref="MaxMessage"/>; details are built by our code and bounded there,
    /// and a cut JSON object would be unreadable, so an oversized one is dropped whole.
    /// </summary>
    internal static AuditEntry Bounded(AuditEntry entry) => entry.Message.Length <= MaxMessage && entry.Details.Length <= MaxDetails
        ? entry
        : entry with
        {
            Message = entry.Message.Length > MaxMessage ? entry.Message[..MaxMessage] : entry.Message,
            Details = entry.Details.Length > MaxDetails ? "{\"truncated\":true}" : entry.Details,
        };

    /// <summary>A page of events matching <paramref name="query"/>, oldest first.</summary>
    public async Task<IReadOnlyList<AuditEntry>> ListAsync(AuditQuery query, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(query.Limit, IAuditLog.MaxPageSize + 1);
        await using var connection = DatabaseSchema.Open(options.Storage, _connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        var where = new StringBuilder("id > @after AND time_utc >= @since");
        command.With("after", query.AfterId);
        command.With("since", options.Storage.IsSqlite ? Text(query.Since) : query.Since.UtcDateTime);
        if (query.Until is { } until)
        {
            where.Append(" AND time_utc < @until");
            command.With("until", options.Storage.IsSqlite ? Text(until) : until.UtcDateTime);
        }
        if (!string.IsNullOrEmpty(query.Type))
        {
            if (query.TypeIsPrefix)
            {
                where.Append(@" AND type LIKE @type ESCAPE '\'");
                command.With("type", EscapeLike(query.Type[..^1]) + "%");
            }
            else
            {
                where.Append(" AND type = @type");
                command.With("type", query.Type);
            }
        }
        if (!string.IsNullOrEmpty(query.User))
        {
            where.Append(" AND (user_name = @user OR target = @user)");
            command.With("user", query.User);
        }
        if (!string.IsNullOrEmpty(query.Device))
        {
            where.Append(" AND (device_id = @device OR asset_tag = @device)");
            command.With("device", query.Device);
        }
        if (query.Success is { } success)
        {
            where.Append(" AND success = @success");
            command.With("success", success);
        }
        command.CommandText =
            $"""
             SELECT id, time_utc, type, success, user_name, device_id, asset_tag, os_type, credential_id, client_ip, message,
                    user_id, target, status, details
             FROM audit_event WHERE {where} ORDER BY id LIMIT @limit;
             """;
        command.With("limit", query.Limit);
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
            {
                Id = reader.GetInt64(0),
                UserId = reader.GetString(11),
                Target = reader.GetString(12),
                Status = reader.GetString(13),
                Details = reader.GetString(14),
            });
        }
        return entries;
    }

    private static string EscapeLike(string text) => text.Replace(@"\", @"\\", StringComparison.Ordinal)
        .Replace("%", @"\%", StringComparison.Ordinal).Replace("_", @"\_", StringComparison.Ordinal);

    internal static string Text(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);
}
