using System.Security.Cryptography;
using DeviceTrust.Core.Certificates;
using DeviceTrust.Core.Secrets;

namespace DeviceTrust.Grains.Authorities;

public sealed class CertificateAuthorityState : IEncryptedKeyState
{
    public byte[]? CertificateDer { get; set; }
    /// <summary>AES-GCM under the master key, bound to the purpose <see cref="CertificateAuthorityGrain.KeyPurpose"/>.</summary>
    public byte[]? EncryptedPrivateKey { get; set; }
}

public sealed class CertificateAuthorityGrain(
    [PersistentState(StateNames.CertificateAuthority, StateNames.Storage)] IPersistentState<CertificateAuthorityState> state,
    MasterKey masterKey,
    TimeProvider time) : Grain, ICertificateAuthorityGrain
{
    public const string UserCa = GrainKeys.UserCa;
    public static readonly TimeSpan Lifetime = TimeSpan.FromDays(3650);

    public static string KeyPurpose(string caName) => GrainKeys.CaKeyPurpose(caName);

    public Task<bool> RewrapAsync() => state.RewrapAsync(masterKey, KeyPurpose(this.GetPrimaryKeyString()), DeactivateOnIdle);

    public async Task<CaMaterial> GetOrCreateAsync(string clusterName)
    {
        if (state.State is { CertificateDer: { } der, EncryptedPrivateKey: { } key })
        {
            return new CaMaterial(der, key);
        }
        var name = this.GetPrimaryKeyString();
        using var ca = CertificateAuthority.Create($"{clusterName} {name} CA", time.GetUtcNow(), Lifetime);
        var pkcs8 = ca.ExportPrivateKeyPkcs8();
        try
        {
            state.State.CertificateDer = ca.Certificate.RawData;
            state.State.EncryptedPrivateKey = masterKey.Encrypt(pkcs8, KeyPurpose(name));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(pkcs8);
        }
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            state.State = new CertificateAuthorityState();
            DeactivateOnIdle();
            throw;
        }
        return new CaMaterial(state.State.CertificateDer, state.State.EncryptedPrivateKey);
    }
}
