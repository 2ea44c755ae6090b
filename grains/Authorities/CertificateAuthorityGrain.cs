using System.Globalization;
using System.Security.Cryptography;
using DeviceTrust.Core.Certificates;
using DeviceTrust.Core.Errors;
using DeviceTrust.Core.Secrets;

namespace DeviceTrust.Grains.Authorities;

public sealed class CertificateAuthorityState : IEncryptedKeyState
{
    public byte[]? CertificateDer { get; set; }
    /// <summary>AES-GCM under the master key, bound to the purpose <see cref="CertificateAuthorityGrain.KeyPurpose"/>.</summary>
    public byte[]? EncryptedPrivateKey { get; set; }

    /// <summary>During a rotation: the next CA (published) or the replaced one (switched).</summary>
    public byte[]? OtherCertificateDer { get; set; }
    public byte[]? OtherEncryptedPrivateKey { get; set; }

    public CaRotationPhase Phase { get; set; }
    public int Generation { get; set; }
    public DateTimeOffset? Changed { get; set; }
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

    public async Task<CaTrust> GetOrCreateAsync(string clusterName)
    {
        if (state.State.CertificateDer is not null)
        {
            return Trust();
        }
        (state.State.CertificateDer, state.State.EncryptedPrivateKey) = NewCa($"{clusterName} {this.GetPrimaryKeyString()} CA");
        await state.WriteOrDeactivateAsync(() =>
        {
            state.State = new CertificateAuthorityState();
            DeactivateOnIdle();
        });
        return Trust();
    }

    public async Task<CaTrust> RotateAsync(CaRotationStep step, string clusterName)
    {
        if (state.State.CertificateDer is null)
        {
            throw DeviceTrustException.FailedPrecondition("the cluster CA does not exist yet");
        }
        var now = time.GetUtcNow();
        var before = Trust();
        var after = CaRotations.After(before.Rotation, step, "cluster CA", now);
        var s = state.State;
        switch (step)
        {
            case CaRotationStep.Start:
                // A name of its own, so that chains and people tell the two CAs apart.
                (s.OtherCertificateDer, s.OtherEncryptedPrivateKey) =
                    NewCa($"{clusterName} {this.GetPrimaryKeyString()} CA {now.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture)}");
                break;
            case CaRotationStep.Switch:
                (s.CertificateDer, s.EncryptedPrivateKey, s.OtherCertificateDer, s.OtherEncryptedPrivateKey) =
                    (s.OtherCertificateDer, s.OtherEncryptedPrivateKey, s.CertificateDer, s.EncryptedPrivateKey);
                break;
            default:
                (s.OtherCertificateDer, s.OtherEncryptedPrivateKey) = (null, null);
                break;
        }
        (s.Phase, s.Generation, s.Changed) = (after.Phase, after.Generation, after.Changed);
        await state.WriteOrDeactivateAsync(() =>
        {
            Restore(before);
            DeactivateOnIdle();
        });
        return Trust();
    }

    private (byte[] Der, byte[] EncryptedKey) NewCa(string commonName)
    {
        using var ca = CertificateAuthority.Create(commonName, time.GetUtcNow(), Lifetime);
        var pkcs8 = ca.ExportPrivateKeyPkcs8();
        try
        {
            return (ca.Certificate.RawData, masterKey.Encrypt(pkcs8, KeyPurpose(this.GetPrimaryKeyString())));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(pkcs8);
        }
    }

    private void Restore(CaTrust before)
    {
        var s = state.State;
        (s.CertificateDer, s.EncryptedPrivateKey) = (before.Current.CertificateDer, before.Current.EncryptedPrivateKey);
        (s.OtherCertificateDer, s.OtherEncryptedPrivateKey) = (before.Other?.CertificateDer, before.Other?.EncryptedPrivateKey);
        (s.Phase, s.Generation, s.Changed) = (before.Rotation.Phase, before.Rotation.Generation, before.Rotation.Changed);
    }

    private CaTrust Trust()
    {
        var s = state.State;
        return new CaTrust(new CaRotation(s.Phase, s.Generation, s.Changed), new CaMaterial(s.CertificateDer!, s.EncryptedPrivateKey!),
            s is { OtherCertificateDer: { } der, OtherEncryptedPrivateKey: { } key } ? new CaMaterial(der, key) : null);
    }
}
