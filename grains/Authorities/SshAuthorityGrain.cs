using System.Security.Cryptography;
using DeviceTrust.Core.Errors;
using DeviceTrust.Core.Secrets;
using DeviceTrust.Core.Ssh;

namespace DeviceTrust.Grains.Authorities;

public sealed class SshAuthorityState : IEncryptedKeyState
{
    /// <summary>AES-GCM under the master key, bound to <see cref="SshAuthorityGrain.KeyPurpose"/>.</summary>
    public byte[]? EncryptedPrivateKey { get; set; }

    /// <summary>During a rotation: the next CA's key (published) or the replaced one's (switched).</summary>
    public byte[]? OtherEncryptedPrivateKey { get; set; }

    public CaRotationPhase Phase { get; set; }
    public int Generation { get; set; }
    public DateTimeOffset? Changed { get; set; }
}

public sealed class SshAuthorityGrain(
    [PersistentState(StateNames.SshAuthority, StateNames.Storage)] IPersistentState<SshAuthorityState> state,
    MasterKey masterKey,
    TimeProvider time) : Grain, ISshAuthorityGrain
{
    /// <summary>Signs user certificates, which nodes trust through <c>TrustedUserCAKeys</c>.</summary>
    public const string UserCa = GrainKeys.SshUserCa;

    /// <summary>Signs host certificates, which clients trust through an <c>@cert-authority</c> known_hosts line.</summary>
    public const string HostCa = GrainKeys.SshHostCa;

    public static string KeyPurpose(string caName) => GrainKeys.SshCaKeyPurpose(caName);

    public Task<bool> RewrapAsync() => state.RewrapAsync(masterKey, KeyPurpose(this.GetPrimaryKeyString()), DeactivateOnIdle);

    public async Task<SshCaTrust> GetOrCreateAsync()
    {
        if (state.State.EncryptedPrivateKey is not null)
        {
            return Trust();
        }
        state.State.EncryptedPrivateKey = NewKey();
        await state.WriteOrDeactivateAsync(() =>
        {
            state.State = new SshAuthorityState();
            DeactivateOnIdle();
        });
        return Trust();
    }

    public async Task<SshCaTrust> RotateAsync(CaRotationStep step)
    {
        if (state.State.EncryptedPrivateKey is null)
        {
            throw DeviceTrustException.FailedPrecondition($"the SSH {this.GetPrimaryKeyString()} CA does not exist yet");
        }
        var s = state.State;
        var before = (s.EncryptedPrivateKey, s.OtherEncryptedPrivateKey, s.Phase, s.Generation, s.Changed);
        var after = CaRotations.After(new CaRotation(s.Phase, s.Generation, s.Changed), step, $"SSH {this.GetPrimaryKeyString()} CA", time.GetUtcNow());
        s.OtherEncryptedPrivateKey = step switch
        {
            CaRotationStep.Start => NewKey(),
            CaRotationStep.Switch => s.EncryptedPrivateKey,
            _ => null,
        };
        if (step == CaRotationStep.Switch)
        {
            s.EncryptedPrivateKey = before.OtherEncryptedPrivateKey;
        }
        (s.Phase, s.Generation, s.Changed) = (after.Phase, after.Generation, after.Changed);
        await state.WriteOrDeactivateAsync(() =>
        {
            (s.EncryptedPrivateKey, s.OtherEncryptedPrivateKey, s.Phase, s.Generation, s.Changed) = before;
            DeactivateOnIdle();
        });
        return Trust();
    }

    private byte[] NewKey()
    {
        using var ca = SshCertificateAuthority.Create();
        var pkcs8 = ca.ExportPrivateKeyPkcs8();
        try
        {
            return masterKey.Encrypt(pkcs8, KeyPurpose(this.GetPrimaryKeyString()));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(pkcs8);
        }
    }

    private SshCaTrust Trust()
    {
        var s = state.State;
        return new SshCaTrust(new CaRotation(s.Phase, s.Generation, s.Changed), new SshCaMaterial(s.EncryptedPrivateKey!),
            s.OtherEncryptedPrivateKey is { } other ? new SshCaMaterial(other) : null);
    }
}
