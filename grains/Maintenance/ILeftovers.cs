namespace DeviceTrust.Grains.Maintenance;

/// <summary>The stored leftovers the sweeper removes (implemented next to our SQL, which knows how state is stored).</summary>
public interface ILeftovers
{
    /// <summary>Removes enrollment tokens that expired before <paramref name="expiredBefore"/>, audits the count, returns it.</summary>
    Task<int> RemoveExpiredTokensAsync(DateTimeOffset expiredBefore, CancellationToken cancellationToken);
}
