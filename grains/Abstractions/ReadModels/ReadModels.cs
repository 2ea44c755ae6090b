using DeviceTrust.Core.Audit;
using DeviceTrust.Core.Devices;
using DeviceTrust.Grains.Users;

namespace DeviceTrust.Grains.ReadModels;

// Listing, search and the audit log read the database, never a grain per row. These are what callers may ask;
// the SQL behind them (silo/Database) is the only code that knows how grains store their state.

/// <summary>One page of a listing, and the token of the next page ("" when this is the last).</summary>
public sealed record Page<T>(IReadOnlyList<T> Items, string NextPageToken);

/// <summary>The users, in name order, as views (never a password hash or an invitation secret).</summary>
public interface IUserDirectory
{
    public const int MaxPageSize = 200;

    /// <summary>Up to <paramref name="pageSize"/> users after the page <paramref name="pageToken"/> names ("" from the start).</summary>
    /// <exception cref="Core.Errors.DeviceTrustException">InvalidArgument when the token is not one a page returned.</exception>
    Task<Page<UserView>> ListAsync(int pageSize, string pageToken, CancellationToken cancellationToken);
}

/// <summary>The device inventory, in (asset tag, OS, id) order.</summary>
public interface IDeviceInventory
{
    public const int MaxPageSize = 200;

    /// <exception cref="Core.Errors.DeviceTrustException">InvalidArgument when the token is not one a page returned.</exception>
    Task<Page<DeviceRecord>> ListAsync(int pageSize, string pageToken, CancellationToken cancellationToken);

    /// <summary>The devices the user with this immutable id enrolled (by id: a re-created name owns nothing).</summary>
    Task<IReadOnlyList<DeviceRecord>> OwnedByAsync(string userId, CancellationToken cancellationToken);

    /// <summary>
    /// The devices whose asset tag is one of these (at most <see cref="MaxTags"/>), of any OS; like
    /// <see cref="FromSourceAsync"/>, without their collected-data history and boot record (empty and null).
    /// </summary>
    Task<IReadOnlyList<DeviceRecord>> WithAssetTagsAsync(IReadOnlyCollection<string> assetTags, CancellationToken cancellationToken);

    public const int MaxTags = 1000;

    /// <summary>The devices an MDM sync of this source and instance put in the inventory (or took over), in (asset tag, OS) order.</summary>
    Task<IReadOnlyList<DeviceRecord>> FromSourceAsync(DeviceSource source, string sourceName, CancellationToken cancellationToken);
}

/// <summary>
/// The durable, append-only audit log. <see cref="AppendAsync"/> returns only after the event is committed, so an
/// RPC that awaits it before answering never reports a success that was not recorded.
/// </summary>
public interface IAuditLog
{
    public const int MaxPageSize = 1000;

    Task AppendAsync(AuditEntry entry, CancellationToken cancellationToken = default);

    /// <summary>Many events in one transaction (all or none), in this order.</summary>
    Task AppendAllAsync(IReadOnlyList<AuditEntry> entries, CancellationToken cancellationToken = default);

    /// <summary>A page of events matching <paramref name="query"/>, oldest first.</summary>
    Task<IReadOnlyList<AuditEntry>> ListAsync(AuditQuery query, CancellationToken cancellationToken);
}
