using System.Security.Cryptography;
using DeviceTrust.Core.Devices;
using DeviceTrust.Core.Errors;
using DeviceTrust.Grains.Attestation;
using DeviceTrust.Grains.Ceremonies;

namespace DeviceTrust.Grains.Inventory;

public sealed class DeviceGrain(
    [PersistentState(StateNames.Device, StateNames.Storage)] IPersistentState<DeviceState> state,
    IGrainFactory grains,
    TimeProvider time) : Grain, IDeviceGrain
{
    private PendingCeremony? _pending;

    private DeviceRecord Device => state.State.Device ?? throw DeviceTrustException.NotFound("device not found");

    public async Task<DeviceRecord> CreateAsync(OsType os, string assetTag, DeviceSource source, string createdBy)
    {
        if (state.State.Device is not null)
        {
            throw DeviceTrustException.AlreadyExists("a device with this id already exists");
        }
        var now = time.GetUtcNow();
        await SaveAsync(new DeviceRecord(this.GetPrimaryKey(), os, assetTag, now, now, EnrollStatus.NotEnrolled, null, [], source, null, "", createdBy));
        return Device;
    }

    public Task<DeviceRecord?> GetAsync() => Task.FromResult(state.State.Device);

    public async Task<DeviceRecord> DeleteAsync()
    {
        var device = Device;
        _pending = null;
        await state.ClearStateAsync();
        state.State = new DeviceState();
        return device;
    }

    public async Task<DeviceRecord> UpdateAsync(bool unenroll, DeviceProfile? profile)
    {
        var device = Device;
        if (unenroll)
        {
            _pending = null;
            device = device with { EnrollStatus = EnrollStatus.NotEnrolled, Credential = null, Owner = "" };
        }
        if (profile is not null)
        {
            device = device with { Profile = profile with { UpdateTime = time.GetUtcNow() } };
        }
        await SaveAsync(device with { UpdateTime = time.GetUtcNow() });
        return Device;
    }

    public Task<DeviceRecord> EnsureEnrollableAsync()
    {
        var device = Device;
        if (device.EnrollStatus == EnrollStatus.Enrolled)
        {
            throw DeviceTrustException.FailedPrecondition($"device {device.AssetTag}/{device.OsType.ToText()} is already enrolled: unenroll it first");
        }
        return Task.FromResult(device);
    }

    public Task<byte[]> BeginEnrollmentAsync(string credentialId, byte[] publicKeyDer, CollectedData data, string owner, AttestationType minimum)
    {
        DeviceChecks.EnsureCanEnroll(Device, data);
        AttestationPolicy.EnsureAtLeast(AttestationType.Unspecified, minimum);
        return Task.FromResult(Begin(CeremonyKind.Enrollment, credentialId, publicKeyDer, data, owner, KeyChallenge.New()));
    }

    public async Task<TpmEnrollChallenge> BeginTpmEnrollmentAsync(TpmEnrollmentOffer offer, TpmPolicy policy, CollectedData data, string owner)
    {
        DeviceChecks.EnsureCanEnroll(Device, data);
        var plan = await grains.GetGrain<IAttestationVerifierGrain>(0).PrepareEnrollmentAsync(offer, policy);
        var nonce = Begin(CeremonyKind.Enrollment, offer.CredentialId, plan.AkSubjectPublicKeyInfo, data, owner,
            RandomNumberGenerator.GetBytes(PendingCeremony.TpmNonceBytes));
        _pending = _pending! with { Tpm = new PendingTpmEnrollment(plan.Secret, offer.AkPublic, plan) };
        return new TpmEnrollChallenge(plan.IdObject, plan.EncryptedSecret, nonce);
    }

    public async Task<DeviceRecord> CompleteTpmEnrollmentAsync(byte[] activatedSecret, TpmQuoteEvidence quote)
    {
        var now = time.GetUtcNow();
        var pending = PendingCeremony.Take(ref _pending, CeremonyKind.Enrollment, now);
        var tpm = pending.Tpm ?? throw DeviceTrustException.FailedPrecondition("the enrollment in progress is not a TPM enrollment");
        DeviceChecks.EnsureCanEnroll(Device, pending.Data);
        if (!CryptographicOperations.FixedTimeEquals(activatedSecret, tpm.Secret))
        {
            throw DeviceTrustException.PermissionDenied("credential activation failed: the TPM did not recover the secret (the AK is not in the TPM that holds the EK)");
        }
        await grains.GetGrain<IAttestationVerifierGrain>(0).VerifyQuoteAsync(tpm.AkPublic, quote, pending.Challenge);
        // The AK and the EK identity are stored together, in one write (the lesson of Keylime's CVE-2022-1053).
        return await SaveEnrolledAsync(pending, now,
            new DeviceCredential(pending.CredentialId, tpm.Plan.AkSubjectPublicKeyInfo, tpm.Plan.AttestationType, tpm.Plan.EkCertificateSerial, tpm.AkPublic));
    }

    public async Task<DeviceRecord> CompleteEnrollmentAsync(byte[] signature)
    {
        var now = time.GetUtcNow();
        var pending = PendingCeremony.Take(ref _pending, CeremonyKind.Enrollment, now);
        if (pending.Tpm is not null)
        {
            throw DeviceTrustException.FailedPrecondition("the enrollment in progress is a TPM enrollment: answer with the activated credential and a quote");
        }
        var device = Device;
        DeviceChecks.EnsureCanEnroll(device, pending.Data);
        Verify(pending, signature);
        return await SaveEnrolledAsync(pending, now, new DeviceCredential(pending.CredentialId, pending.PublicKeyDer, AttestationType.Unspecified, "", []));
    }

    public Task<DeviceChallenge> BeginAuthenticationAsync(string credentialId, CollectedData data, string user, AttestationType minimum)
    {
        var device = Device;
        DeviceChecks.EnsureCanAuthenticate(device, credentialId, data);
        AttestationPolicy.EnsureAtLeast(device.Credential!.AttestationType, minimum);
        var tpm = device.Credential.AttestationType != AttestationType.Unspecified;
        var challenge = Begin(CeremonyKind.Authentication, credentialId, device.Credential.PublicKeyDer, data, user,
            tpm ? RandomNumberGenerator.GetBytes(PendingCeremony.TpmNonceBytes) : KeyChallenge.New());
        return Task.FromResult(new DeviceChallenge(tpm, challenge));
    }

    public async Task<DeviceRecord> CompleteTpmAuthenticationAsync(TpmQuoteEvidence quote)
    {
        var now = time.GetUtcNow();
        var pending = PendingCeremony.Take(ref _pending, CeremonyKind.Authentication, now);
        var device = Device;
        DeviceChecks.EnsureCanAuthenticate(device, pending.CredentialId, pending.Data);
        if (device.Credential!.AttestationType == AttestationType.Unspecified)
        {
            throw DeviceTrustException.FailedPrecondition("this device enrolled a key, not a TPM: answer with a signature");
        }
        await grains.GetGrain<IAttestationVerifierGrain>(0).VerifyQuoteAsync(device.Credential.TpmAkPublic, quote, pending.Challenge);
        await SaveAsync(device with { CollectedData = device.WithAuthentication(pending.Data.RecordedAt(now)), UpdateTime = now });
        return Device;
    }

    public async Task<DeviceRecord> CompleteAuthenticationAsync(byte[] signature)
    {
        var now = time.GetUtcNow();
        var pending = PendingCeremony.Take(ref _pending, CeremonyKind.Authentication, now);
        var device = Device;
        // The record may have changed since the challenge was sent (unenrolled, re-enrolled): check again.
        DeviceChecks.EnsureCanAuthenticate(device, pending.CredentialId, pending.Data);
        if (device.Credential!.AttestationType != AttestationType.Unspecified)
        {
            throw DeviceTrustException.FailedPrecondition("this device enrolled a TPM: answer with a quote");
        }
        Verify(pending, signature);
        await SaveAsync(device with { CollectedData = device.WithAuthentication(pending.Data.RecordedAt(now)), UpdateTime = now });
        return Device;
    }

    private byte[] Begin(CeremonyKind kind, string credentialId, byte[] publicKeyDer, CollectedData data, string user, byte[] challenge)
    {
        // A second init replaces the first: only the newest challenge can be answered.
        _pending = new PendingCeremony(kind, challenge, time.GetUtcNow() + PendingCeremony.Ttl, credentialId, publicKeyDer, data, user);
        return challenge;
    }

    /// <summary>The enrollment record: credential, owner and the data checked at init, in one write.</summary>
    private async Task<DeviceRecord> SaveEnrolledAsync(PendingCeremony pending, DateTimeOffset now, DeviceCredential credential)
    {
        await SaveAsync(Device with
        {
            EnrollStatus = EnrollStatus.Enrolled,
            Credential = credential,
            Owner = pending.User,
            CollectedData = [pending.Data.RecordedAt(now)],
            UpdateTime = now,
        });
        return Device;
    }

    private static void Verify(PendingCeremony pending, byte[] signature)
    {
        if (signature.Length == 0 || signature.Length > DeviceFields.MaxSignature || !KeyChallenge.Verify(pending.PublicKeyDer, pending.Challenge, signature))
        {
            throw DeviceTrustException.PermissionDenied("the challenge signature does not verify with the device's key");
        }
    }

    private async Task SaveAsync(DeviceRecord device)
    {
        var previous = state.State.Device;
        state.State.Device = device;
        await state.WriteOrDeactivateAsync(() =>
        {
            state.State.Device = previous;
            DeactivateOnIdle();
        });
    }
}
