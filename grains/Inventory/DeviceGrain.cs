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
    private readonly Dictionary<Guid, PendingCeremony> _pending = [];
    private (byte[] Der, ECDsa Key)? _verifier;

    private DeviceRecord Device => state.State.Device ?? throw DeviceTrustException.NotFound("device not found");

    public async Task<DeviceRecord> CreateAsync(OsType os, string assetTag, DeviceSource source, string createdBy, string pinnedEkSha256 = "")
    {
        if (state.State.Device is not null)
        {
            throw DeviceTrustException.AlreadyExists("a device with this id already exists");
        }
        await SaveAsync(DeviceRecord.New(this.GetPrimaryKey(), os, assetTag, source, createdBy, pinnedEkSha256, time.GetUtcNow()));
        return Device;
    }

    public Task<DeviceRecord?> GetAsync() => Task.FromResult(state.State.Device);

    public async Task<DeviceRecord> DeleteAsync()
    {
        var device = Device;
        _pending.Clear();
        await state.ClearStateAsync();
        state.State = new DeviceState();
        return device;
    }

    public async Task<DeviceChange> UpdateAsync(DeviceUpdate update)
    {
        var before = Device;
        var device = before;
        if (update.Sync is { } sync)
        {
            device = device with { Source = sync.Source, SourceName = sync.SourceName };
        }
        if (update.Unenroll || update.Sync is { } mdm && device.UnenrolledBySync(update.Profile, mdm.UnenrollOnOwnerChange))
        {
            // The credential goes, and with it the trust in whoever used it: owner and users.
            _pending.Clear();
            device = device with { EnrollStatus = EnrollStatus.NotEnrolled, Credential = null, Owner = "", OwnerId = "", Users = [], LastBoot = null };
        }
        if (update.PinnedEkSha256 is { } pin)
        {
            device = Pin(device, pin);
        }
        if (update.Profile is not null)
        {
            device = device with { Profile = update.Profile with { UpdateTime = time.GetUtcNow() } };
        }
        if (update.AddUsers.Count > 0 || update.RemoveUsers.Count > 0)
        {
            if (device.EnrollStatus != EnrollStatus.Enrolled && update.AddUsers.Count > 0)
            {
                throw DeviceTrustException.FailedPrecondition($"device {device.AssetTag}/{device.OsType.ToText()} is not enrolled: users can be added once it is");
            }
            var missing = update.RemoveUsers.Where(name => device.Users.All(u => u.Name != name)).ToList();
            if (missing.Count > 0)
            {
                throw DeviceTrustException.NotFound($"not a user of this device: {string.Join(", ", missing)}");
            }
            var users = device.Users.Where(u => !update.RemoveUsers.Contains(u.Name))
                .Where(u => update.AddUsers.All(added => added.Name != u.Name))
                .Concat(update.AddUsers.Where(u => u.Id != device.OwnerId))
                .ToList();
            if (users.Count > DeviceRecord.MaxUsers)
            {
                throw DeviceTrustException.FailedPrecondition($"a device can have at most {DeviceRecord.MaxUsers} users besides its owner");
            }
            device = device with { Users = users };
        }
        await SaveAsync(device with { UpdateTime = time.GetUtcNow() });
        return new DeviceChange(before, Device);
    }

    /// <summary>
    /// Pins (or, with "", unpins) the EK. An enrolled device keeps its credential only if it enrolled with that EK —
    /// its enrollment proved the AK lives in that TPM, so the credential is proven from now on; with another EK the
    /// change is refused (unenroll first). Unpinning takes the proof back.
    /// </summary>
    private static DeviceRecord Pin(DeviceRecord device, string pin)
    {
        if (device.Credential is not { } credential)
        {
            return device with { PinnedEkSha256 = pin };
        }
        var name = $"{device.AssetTag}/{device.OsType.ToText()}";
        if (pin.Length == 0)
        {
            return device with
            {
                PinnedEkSha256 = "",
                Credential = credential.AttestationType == AttestationType.TpmEkPubPinned
                    ? credential with { AttestationType = credential.TpmEkCertSerial.Length > 0 ? AttestationType.TpmEkCert : AttestationType.TpmEkPub }
                    : credential,
            };
        }
        if (credential.AttestationType == AttestationType.Unspecified)
        {
            throw DeviceTrustException.FailedPrecondition($"device {name} enrolled a key, not a TPM: it has no EK to pin; unenroll it first");
        }
        if (credential.EkSha256.Length == 0)
        {
            throw DeviceTrustException.FailedPrecondition(
                $"device {name} enrolled before EKs were recorded, so its EK cannot be compared: unenroll it, pin its EK, and enroll it again");
        }
        if (!string.Equals(credential.EkSha256, pin, StringComparison.Ordinal))
        {
            throw DeviceTrustException.FailedPrecondition(
                $"device {name} is enrolled with another EK ({EkPin.Text(credential.EkSha256)}): unenroll it first, then pin its EK and enroll it again");
        }
        return device with
        {
            PinnedEkSha256 = pin,
            Credential = AttestationPolicy.IsProven(credential.AttestationType) ? credential : credential with { AttestationType = AttestationType.TpmEkPubPinned },
        };
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

    public Task<DeviceChallenge> BeginEnrollmentAsync(string credentialId, byte[] publicKeyDer, CollectedData data, DeviceUser owner, DevicePolicy policy)
    {
        DeviceChecks.EnsureCanEnroll(Device, data);
        MinimumOsVersions.Ensure(data, policy.MinOsVersions);
        AttestationPolicy.EnsureAtLeast(AttestationType.Unspecified, policy.MinimumAttestation);
        var ceremony = Begin(CeremonyKind.Enrollment, credentialId, publicKeyDer, data, owner, KeyChallenge.New());
        return Task.FromResult(new DeviceChallenge(false, ceremony.Challenge, ceremony.Id));
    }

    public async Task<TpmEnrollChallenge> BeginTpmEnrollmentAsync(TpmEnrollmentOffer offer, DevicePolicy policy, CollectedData data, DeviceUser owner)
    {
        DeviceChecks.EnsureCanEnroll(Device, data);
        MinimumOsVersions.Ensure(data, policy.MinOsVersions);
        var plan = await grains.GetGrain<IAttestationVerifierGrain>(0).PrepareEnrollmentAsync(offer, policy, Device.PinnedEkSha256);
        var ceremony = Begin(CeremonyKind.Enrollment, offer.CredentialId, plan.AkSubjectPublicKeyInfo, data, owner,
            RandomNumberGenerator.GetBytes(PendingCeremony.TpmNonceBytes), new PendingTpmEnrollment(plan.Secret, offer.AkPublic, plan, policy));
        return new TpmEnrollChallenge(plan.IdObject, plan.EncryptedSecret, ceremony.Challenge, ceremony.Id);
    }

    public async Task<DeviceRecord> CompleteTpmEnrollmentAsync(Guid ceremony, byte[] activatedSecret, TpmQuoteEvidence quote)
    {
        var now = time.GetUtcNow();
        var pending = PendingCeremony.Take(_pending, ceremony, CeremonyKind.Enrollment, now);
        var tpm = pending.Tpm ?? throw DeviceTrustException.FailedPrecondition("the enrollment in progress is not a TPM enrollment: answer with a signature");
        DeviceChecks.EnsureCanEnroll(Device, pending.Data);
        if (Device.PinnedEkSha256.Length > 0 && !string.Equals(Device.PinnedEkSha256, tpm.Plan.EkSha256, StringComparison.Ordinal))
        {
            throw DeviceTrustException.PermissionDenied(
                $"the device's EK ({EkPin.Text(tpm.Plan.EkSha256)}) is no longer the one pinned in the inventory ({EkPin.Text(Device.PinnedEkSha256)})");
        }
        if (!CryptographicOperations.FixedTimeEquals(activatedSecret, tpm.Secret))
        {
            throw DeviceTrustException.PermissionDenied("credential activation failed: the TPM did not recover the secret (the AK is not in the TPM that holds the EK)");
        }
        var facts = await grains.GetGrain<IAttestationVerifierGrain>(0).VerifyQuoteAsync(tpm.AkPublic, quote, pending.Challenge, tpm.Policy);
        // The pin may have gone since the challenge was made (an administrator unpinned it): a pinned class needs a pin now.
        var type = tpm.Plan.AttestationType == AttestationType.TpmEkPubPinned && Device.PinnedEkSha256.Length == 0
            ? (tpm.Plan.EkCertificateSerial.Length > 0 ? AttestationType.TpmEkCert : AttestationType.TpmEkPub)
            : tpm.Plan.AttestationType;
        AttestationPolicy.EnsureAtLeast(type, tpm.Policy.MinimumAttestation);
        // The AK and the EK identity are stored together, in one write (the lesson of Keylime's CVE-2022-1053).
        return await SaveEnrolledAsync(pending, now,
            new DeviceCredential(pending.CredentialId, tpm.Plan.AkSubjectPublicKeyInfo, type, tpm.Plan.EkCertificateSerial, tpm.AkPublic)
            {
                TpmCountersOrdered = facts.QualifiedSigner.AsSpan().SequenceEqual(tpm.Plan.AkQualifiedNameUnderEk),
                EkSha256 = tpm.Plan.EkSha256,
                EkCertificateCa = tpm.Plan.EkCertificateCa,
            }, facts.Clock, facts.Boot with { VerifiedAt = now });
    }

    public async Task<DeviceRecord> CompleteEnrollmentAsync(Guid ceremony, byte[] signature)
    {
        var now = time.GetUtcNow();
        var pending = PendingCeremony.Take(_pending, ceremony, CeremonyKind.Enrollment, now);
        if (pending.Tpm is not null)
        {
            throw DeviceTrustException.FailedPrecondition("the enrollment in progress is a TPM enrollment: answer with the activated credential and a quote");
        }
        DeviceChecks.EnsureCanEnroll(Device, pending.Data);
        Verify(pending, signature);
        return await SaveEnrolledAsync(pending, now, new DeviceCredential(pending.CredentialId, pending.PublicKeyDer, AttestationType.Unspecified, "", []));
    }

    public Task<DeviceChallenge> BeginAuthenticationAsync(string credentialId, CollectedData data, DeviceUser user, DevicePolicy policy)
    {
        var device = Device;
        DeviceChecks.EnsureCanAuthenticate(device, credentialId, data);
        DeviceChecks.EnsureMayUse(device, user);
        MinimumOsVersions.Ensure(data, policy.MinOsVersions);
        AttestationPolicy.EnsureAtLeast(device.Credential!.AttestationType, policy.MinimumAttestation);
        var tpm = device.Credential.AttestationType != AttestationType.Unspecified;
        var ceremony = Begin(CeremonyKind.Authentication, credentialId, device.Credential.PublicKeyDer, data, user,
            tpm ? RandomNumberGenerator.GetBytes(PendingCeremony.TpmNonceBytes) : KeyChallenge.New());
        return Task.FromResult(new DeviceChallenge(tpm, ceremony.Challenge, ceremony.Id));
    }

    public async Task<DeviceRecord> CompleteTpmAuthenticationAsync(Guid ceremony, TpmQuoteEvidence quote, DevicePolicy policy)
    {
        var now = time.GetUtcNow();
        var pending = PendingCeremony.Take(_pending, ceremony, CeremonyKind.Authentication, now);
        var device = Device;
        // The record may have changed since the challenge was sent (unenrolled, re-enrolled, a user removed): check again.
        DeviceChecks.EnsureCanAuthenticate(device, pending.CredentialId, pending.Data);
        DeviceChecks.EnsureMayUse(device, pending.User);
        if (device.Credential!.AttestationType == AttestationType.Unspecified)
        {
            throw DeviceTrustException.FailedPrecondition("this device enrolled a key, not a TPM: answer with a signature");
        }
        var facts = await grains.GetGrain<IAttestationVerifierGrain>(0).VerifyQuoteAsync(device.Credential.TpmAkPublic, quote, pending.Challenge, policy);
        // read again after the await: another ceremony of this device may have completed in between
        TpmClock.EnsureForward(Device.LastTpmClock, facts.Clock, Device.Credential?.TpmCountersOrdered ?? false);
        await SaveAsync(Device with
        {
            CollectedData = Device.WithAuthentication(pending.Data.RecordedAt(now)),
            UpdateTime = now,
            LastTpmClock = facts.Clock,
            LastBoot = facts.Boot with { VerifiedAt = now },
        });
        return Device;
    }

    public async Task<DeviceRecord> CompleteAuthenticationAsync(Guid ceremony, byte[] signature)
    {
        var now = time.GetUtcNow();
        var pending = PendingCeremony.Take(_pending, ceremony, CeremonyKind.Authentication, now);
        var device = Device;
        DeviceChecks.EnsureCanAuthenticate(device, pending.CredentialId, pending.Data);
        DeviceChecks.EnsureMayUse(device, pending.User);
        if (device.Credential!.AttestationType != AttestationType.Unspecified)
        {
            throw DeviceTrustException.FailedPrecondition("this device enrolled a TPM: answer with a quote");
        }
        Verify(pending, signature);
        await SaveAsync(device with { CollectedData = device.WithAuthentication(pending.Data.RecordedAt(now)), UpdateTime = now });
        return Device;
    }

    private PendingCeremony Begin(CeremonyKind kind, string credentialId, byte[] publicKeyDer, CollectedData data, DeviceUser user, byte[] challenge,
        PendingTpmEnrollment? tpm = null)
    {
        var now = time.GetUtcNow();
        var ceremony = new PendingCeremony(Guid.NewGuid(), kind, challenge, now + PendingCeremony.Ttl, credentialId, publicKeyDer, data, user, tpm);
        PendingCeremony.Add(_pending, ceremony, now);
        return ceremony;
    }

    /// <summary>The enrollment record: credential, owner (by id) and the data checked at init, in one write.</summary>
    private async Task<DeviceRecord> SaveEnrolledAsync(PendingCeremony pending, DateTimeOffset now, DeviceCredential credential, TpmClock? clock = null,
        BootRecord? boot = null)
    {
        await SaveAsync(Device with
        {
            LastTpmClock = clock,
            LastBoot = boot,
            EnrollStatus = EnrollStatus.Enrolled,
            Credential = credential,
            Owner = pending.User.Name,
            OwnerId = pending.User.Id,
            Users = [],
            CollectedData = [pending.Data.RecordedAt(now)],
            UpdateTime = now,
        });
        // Enrolled: any other enrollment still in progress for this device can no longer succeed.
        foreach (var other in _pending.Where(p => p.Value.Kind == CeremonyKind.Enrollment).Select(p => p.Key).ToList())
        {
            _pending.Remove(other);
        }
        return Device;
    }

    private void Verify(PendingCeremony pending, byte[] signature)
    {
        if (signature.Length == 0 || signature.Length > DeviceFields.MaxSignature || !KeyChallenge.Verify(VerifierFor(pending.PublicKeyDer), pending.Challenge, signature))
        {
            throw DeviceTrustException.PermissionDenied("the challenge signature does not verify with the device's key");
        }
    }

    /// <summary>
    /// The device key, imported once per activation: building an OpenSSL key from its DER cost more than verifying
    /// the signature with it. Kept only for the exact bytes it was made from.
    /// </summary>
    private ECDsa VerifierFor(byte[] publicKeyDer)
    {
        if (_verifier is not { } kept || !kept.Der.AsSpan().SequenceEqual(publicKeyDer))
        {
            _verifier?.Key.Dispose();
            _verifier = kept = (publicKeyDer, KeyChallenge.ImportPublicKey(publicKeyDer));
        }
        return kept.Key;
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        _verifier?.Key.Dispose();
        _verifier = null;
        return base.OnDeactivateAsync(reason, cancellationToken);
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
