using DeviceTrust.Core.Devices;
using DeviceTrust.Core.Errors;

namespace DeviceTrust.Grains.Ceremonies;

public enum CeremonyKind
{
    Enrollment,
    Authentication,
}

/// <summary>
/// A challenge a device must answer: held in the device grain's memory only, answered at most once, within
/// <see cref="Ttl"/>. It belongs to one ceremony (one stream), named by a random id that only the gateway handling
/// that stream knows: ceremonies of one device run side by side and none can cancel or answer another. The data the
/// device sent with its init travels with it, so the completion records exactly what was checked.
/// </summary>
public sealed record PendingCeremony(
    Guid Id,
    CeremonyKind Kind,
    byte[] Challenge,
    DateTimeOffset Expires,
    string CredentialId,
    byte[] PublicKeyDer,
    CollectedData Data,
    DeviceUser User,
    PendingTpmEnrollment? Tpm = null)
{
    public static readonly TimeSpan Ttl = TimeSpan.FromSeconds(60);

    /// <summary>TPM nonces are 20 bytes: some TPMs refuse longer qualifying data.</summary>
    public const int TpmNonceBytes = 20;

    /// <summary>Ceremonies one device may have in progress at once; a device runs one, a shared one a few.</summary>
    public const int MaxPerDevice = 16;

    /// <summary>Takes the ceremony <paramref name="id"/> for a completion: it is gone afterwards whatever the outcome.</summary>
    public static PendingCeremony Take(Dictionary<Guid, PendingCeremony> pending, Guid id, CeremonyKind kind, DateTimeOffset now)
    {
        if (!pending.Remove(id, out var taken))
        {
            // Also what a ceremony sees when the silo that held its challenge left the cluster: a fresh start works.
            throw DeviceTrustException.Aborted("no such ceremony in progress for this device (it was completed, it expired, or the cluster node holding it left): start again");
        }
        if (taken.Kind != kind)
        {
            throw DeviceTrustException.FailedPrecondition($"the ceremony in progress is an {taken.Kind.ToString().ToLowerInvariant()}, not an {kind.ToString().ToLowerInvariant()}");
        }
        if (now >= taken.Expires)
        {
            throw DeviceTrustException.FailedPrecondition("the challenge expired: start the ceremony again");
        }
        return taken;
    }

    /// <summary>Adds a ceremony after dropping expired ones; refuses when the device already has the most it may.</summary>
    public static void Add(Dictionary<Guid, PendingCeremony> pending, PendingCeremony ceremony, DateTimeOffset now)
    {
        foreach (var expired in pending.Where(p => now >= p.Value.Expires).Select(p => p.Key).ToList())
        {
            pending.Remove(expired);
        }
        if (pending.Count >= MaxPerDevice)
        {
            throw DeviceTrustException.ResourceExhausted($"this device already has {MaxPerDevice} ceremonies in progress: finish one or wait a minute", Ttl);
        }
        pending.Add(ceremony.Id, ceremony);
    }
}

/// <summary>What the server keeps while a TPM device activates its credential: the secret and the offered AK.</summary>
public sealed record PendingTpmEnrollment(byte[] Secret, byte[] AkPublic, Attestation.TpmEnrollmentPlan Plan, Attestation.DevicePolicy Policy);
