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
/// <see cref="Ttl"/>. The data the device sent with its init travels with it, so the completion records exactly
/// what was checked.
/// </summary>
public sealed record PendingCeremony(
    CeremonyKind Kind,
    byte[] Challenge,
    DateTimeOffset Expires,
    string CredentialId,
    byte[] PublicKeyDer,
    CollectedData Data,
    string User,
    PendingTpmEnrollment? Tpm = null)
{
    public static readonly TimeSpan Ttl = TimeSpan.FromSeconds(60);

    /// <summary>TPM nonces are 20 bytes: some TPMs refuse longer qualifying data.</summary>
    public const int TpmNonceBytes = 20;

    /// <summary>Takes the pending ceremony for a completion: it is gone afterwards whatever the outcome.</summary>
    public static PendingCeremony Take(ref PendingCeremony? pending, CeremonyKind kind, DateTimeOffset now)
    {
        var taken = pending;
        pending = null;
        if (taken is null)
        {
            throw DeviceTrustException.FailedPrecondition("no ceremony in progress for this device (it was completed, cancelled by a newer one, or never begun)");
        }
        if (taken.Kind != kind)
        {
            throw DeviceTrustException.FailedPrecondition($"the device has an {taken.Kind.ToString().ToLowerInvariant()} in progress, not an {kind.ToString().ToLowerInvariant()}");
        }
        if (now >= taken.Expires)
        {
            throw DeviceTrustException.FailedPrecondition("the challenge expired: start the ceremony again");
        }
        return taken;
    }
}

/// <summary>What the server keeps while a TPM device activates its credential: the secret and the offered AK.</summary>
public sealed record PendingTpmEnrollment(byte[] Secret, byte[] AkPublic, Attestation.TpmEnrollmentPlan Plan);
