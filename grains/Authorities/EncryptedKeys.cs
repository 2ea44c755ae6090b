using DeviceTrust.Core.Secrets;

namespace DeviceTrust.Grains.Authorities;

/// <summary>The state of an authority: its private keys (the current one and a rotation's other), encrypted under the master key.</summary>
public interface IEncryptedKeyState
{
    byte[]? EncryptedPrivateKey { get; set; }

    byte[]? OtherEncryptedPrivateKey { get; set; }
}

internal static class EncryptedKeys
{
    /// <summary>
    /// Re-encrypts the stored keys under the current master key if they are under the previous one (a master key
    /// rotation); true if it did. A failed write restores the old blobs and drops the activation, as every write of ours does.
    /// </summary>
    public static async Task<bool> RewrapAsync<T>(this IPersistentState<T> state, MasterKey masterKey, string purpose, Action deactivate)
        where T : IEncryptedKeyState
    {
        var (key, other) = (state.State.EncryptedPrivateKey, state.State.OtherEncryptedPrivateKey);
        var rewrapped = key is null ? null : masterKey.Rewrap(key, purpose);
        var otherRewrapped = other is null ? null : masterKey.Rewrap(other, purpose);
        if (rewrapped is null && otherRewrapped is null)
        {
            return false;
        }
        state.State.EncryptedPrivateKey = rewrapped ?? key;
        state.State.OtherEncryptedPrivateKey = otherRewrapped ?? other;
        await state.WriteOrDeactivateAsync(() =>
        {
            (state.State.EncryptedPrivateKey, state.State.OtherEncryptedPrivateKey) = (key, other);
            deactivate();
        });
        return true;
    }
}
