using DeviceTrust.Core.Devices;
using DeviceTrust.Core.Errors;
using DeviceTrust.Grains.Ceremonies;

namespace DeviceTrust.Grains.Inventory;

public sealed class DeviceGrain(
    [PersistentState(StateNames.Device, StateNames.Storage)] IPersistentState<DeviceState> state,
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

    public Task<byte[]> BeginEnrollmentAsync(string credentialId, byte[] publicKeyDer, CollectedData data, string owner)
    {
        DeviceChecks.EnsureCanEnroll(Device, data);
        return Task.FromResult(Begin(CeremonyKind.Enrollment, credentialId, publicKeyDer, data, owner));
    }

    public async Task<DeviceRecord> CompleteEnrollmentAsync(byte[] signature)
    {
        var now = time.GetUtcNow();
        var pending = PendingCeremony.Take(ref _pending, CeremonyKind.Enrollment, now);
        var device = Device;
        DeviceChecks.EnsureCanEnroll(device, pending.Data);
        Verify(pending, signature);
        var credential = new DeviceCredential(pending.CredentialId, pending.PublicKeyDer, AttestationType.Unspecified, "", []);
        await SaveAsync(device with
        {
            EnrollStatus = EnrollStatus.Enrolled,
            Credential = credential,
            Owner = pending.User,
            CollectedData = [pending.Data.RecordedAt(now)],
            UpdateTime = now,
        });
        return Device;
    }

    public Task<byte[]> BeginAuthenticationAsync(string credentialId, CollectedData data, string user)
    {
        var device = Device;
        DeviceChecks.EnsureCanAuthenticate(device, credentialId, data);
        return Task.FromResult(Begin(CeremonyKind.Authentication, credentialId, device.Credential!.PublicKeyDer, data, user));
    }

    public async Task<DeviceRecord> CompleteAuthenticationAsync(byte[] signature)
    {
        var now = time.GetUtcNow();
        var pending = PendingCeremony.Take(ref _pending, CeremonyKind.Authentication, now);
        var device = Device;
        // The record may have changed since the challenge was sent (unenrolled, re-enrolled): check again.
        DeviceChecks.EnsureCanAuthenticate(device, pending.CredentialId, pending.Data);
        Verify(pending, signature);
        await SaveAsync(device with { CollectedData = device.WithAuthentication(pending.Data.RecordedAt(now)), UpdateTime = now });
        return Device;
    }

    private byte[] Begin(CeremonyKind kind, string credentialId, byte[] publicKeyDer, CollectedData data, string user)
    {
        // A second init replaces the first: only the newest challenge can be answered.
        var challenge = KeyChallenge.New();
        _pending = new PendingCeremony(kind, challenge, time.GetUtcNow() + PendingCeremony.Ttl, credentialId, publicKeyDer, data, user);
        return challenge;
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
