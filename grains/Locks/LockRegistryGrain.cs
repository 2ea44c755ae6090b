using DeviceTrust.Core.Access;
using DeviceTrust.Core.Errors;

namespace DeviceTrust.Grains.Locks;

public sealed class LockRegistryState
{
    public long Version { get; set; }
    public Dictionary<string, AccessLock> Locks { get; set; } = new(StringComparer.Ordinal);
}

public sealed class LockRegistryGrain(
    [PersistentState(StateNames.Locks, StateNames.Storage)] IPersistentState<LockRegistryState> state,
    TimeProvider time) : Grain, ILockRegistryGrain
{
    public const string Key = GrainKeys.Cluster;

    /// <summary>Every gateway holds all locks in force; this bounds that copy (and the message that carries it).</summary>
    public const int MaxLocks = 10_000;

    public async Task<AccessLock> AddAsync(AccessLock newLock)
    {
        var now = time.GetUtcNow();
        // Expired locks decide nothing: they are dropped on the next write instead of piling up.
        var expired = state.State.Locks.Values.Where(l => !l.InForce(now)).Select(l => l.Id).ToList();
        if (state.State.Locks.Count - expired.Count >= MaxLocks)
        {
            throw DeviceTrustException.FailedPrecondition($"the cluster already has {MaxLocks} locks in force: remove some first");
        }
        if (state.State.Locks.ContainsKey(newLock.Id))
        {
            throw DeviceTrustException.AlreadyExists($"lock {newLock.Id} exists already");
        }
        foreach (var id in expired)
        {
            state.State.Locks.Remove(id);
        }
        state.State.Locks[newLock.Id] = newLock;
        state.State.Version++;
        await state.WriteOrDeactivateAsync(DeactivateOnIdle);
        return newLock;
    }

    public async Task<AccessLock> RemoveAsync(string id)
    {
        if (!state.State.Locks.Remove(id, out var removed))
        {
            throw DeviceTrustException.NotFound($"lock {id} not found");
        }
        state.State.Version++;
        await state.WriteOrDeactivateAsync(DeactivateOnIdle);
        return removed;
    }

    public Task<LockSnapshot?> GetSnapshotIfChangedAsync(long knownVersion)
    {
        var now = time.GetUtcNow();
        return Task.FromResult(knownVersion == state.State.Version
            ? null
            : new LockSnapshot(state.State.Version, state.State.Locks.Values.Where(l => l.InForce(now)).OrderBy(l => l.Created).ToList()));
    }
}
