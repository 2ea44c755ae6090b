using DeviceTrust.Core.Access;

namespace DeviceTrust.Grains.Locks;

/// <summary>
/// The cluster's locks (singleton): who or what is cut off, until when. Gateways keep a versioned snapshot and ask
/// for it again only when the version changed, so no access decision calls this grain.
/// </summary>
[Alias("dt.ILockRegistryGrain")]
public interface ILockRegistryGrain : IGrainWithStringKey
{
    [Alias("Add")]
    Task<AccessLock> AddAsync(AccessLock newLock);

    /// <summary>Removes the lock; returns it. NotFound when there is none with that id.</summary>
    [Alias("Remove")]
    Task<AccessLock> RemoveAsync(string id);

    /// <summary>The locks in force, or null when the version is still <paramref name="knownVersion"/>.</summary>
    [Alias("GetSnapshotIfChanged")]
    Task<LockSnapshot?> GetSnapshotIfChangedAsync(long knownVersion);
}

[GenerateSerializer, Immutable, Alias("dt.LockSnapshot")]
public sealed record LockSnapshot([property: Id(0)] long Version, [property: Id(1)] IReadOnlyList<AccessLock> Locks);
