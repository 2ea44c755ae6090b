using DeviceTrust.Core.Secrets;

namespace DeviceTrust.Grains.Authorities;

/// <summary>The state of an authority: its private key, encrypted under the master key.</summary>
public interface IEncryptedKeyState
{
    byte[]? EncryptedPrivateKey { get; set; }
}

internal static class EncryptedKeys
{
    /// <summary>
    /// Re-encrypts the stored key under the current master key if it is under the previous one (a rotation); true if
    /// it did. A failed write restores the old blob and drops the activation, as every write of ours does.
    /// </summary>
    public static async Task<bool> RewrapAsync<T>(this IPersistentState<T> state, MasterKey masterKey, string purpose, Action deactivate)
        where T : IEncryptedKeyState
    {
        if (state.State.EncryptedPrivateKey is not { } key || masterKey.Rewrap(key, purpose) is not { } rewrapped)
        {
            return false;
        }
        state.State.EncryptedPrivateKey = rewrapped;
        await state.WriteOrDeactivateAsync(() =>
        {
            state.State.EncryptedPrivateKey = key;
            deactivate();
        });
        return true;
    }
}
