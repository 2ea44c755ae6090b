using System.Security.Cryptography;
using DeviceTrust.Core.Secrets;
using DeviceTrust.Core.Ssh;

namespace DeviceTrust.Grains.Authorities;

public sealed class SshAuthorityState : IEncryptedKeyState
{
    /// <summary>AES-GCM under the master key, bound to <see cref="SshAuthorityGrain.KeyPurpose"/>.</summary>
    public byte[]? EncryptedPrivateKey { get; set; }
}

public sealed class SshAuthorityGrain(
    [PersistentState(StateNames.SshAuthority, StateNames.Storage)] IPersistentState<SshAuthorityState> state,
    MasterKey masterKey) : Grain, ISshAuthorityGrain
{
    /// <summary>Signs user certificates, which nodes trust through <c>TrustedUserCAKeys</c>.</summary>
    public const string UserCa = GrainKeys.SshUserCa;

    /// <summary>Signs host certificates, which clients trust through an <c>@cert-authority</c> known_hosts line.</summary>
    public const string HostCa = GrainKeys.SshHostCa;

    public static string KeyPurpose(string caName) => GrainKeys.SshCaKeyPurpose(caName);

    public Task<bool> RewrapAsync() => state.RewrapAsync(masterKey, KeyPurpose(this.GetPrimaryKeyString()), DeactivateOnIdle);

    public async Task<SshCaMaterial> GetOrCreateAsync()
    {
        if (state.State.EncryptedPrivateKey is { } existing)
        {
            return new SshCaMaterial(existing);
        }
        using var ca = SshCertificateAuthority.Create();
        var pkcs8 = ca.ExportPrivateKeyPkcs8();
        try
        {
            state.State.EncryptedPrivateKey = masterKey.Encrypt(pkcs8, KeyPurpose(this.GetPrimaryKeyString()));
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
            state.State = new SshAuthorityState();
            DeactivateOnIdle();
            throw;
        }
        return new SshCaMaterial(state.State.EncryptedPrivateKey);
    }
}
