namespace DeviceTrust.Grains.Maintenance;

/// <summary>The stored leftovers the sweeper removes (implemented next to our SQL, which knows how state is stored).</summary>
public interface ILeftovers
{
    /// <summary>Removes enrollment tokens that expired before <paramref name="expiredBefore"/>, audits the count, returns it.</summary>
    Task<int> RemoveExpiredTokensAsync(DateTimeOffset expiredBefore, CancellationToken cancellationToken);

    /// <summary>
    /// Removes web console sessions past their lifetime and device web secrets past their expiry, before
    /// <paramref name="expiredBefore"/>; audits the count, returns it. (Both expire on their own: this keeps the table small.)
    /// </summary>
    Task<int> RemoveExpiredWebStateAsync(DateTimeOffset expiredBefore, CancellationToken cancellationToken);
}
