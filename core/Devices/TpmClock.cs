namespace DeviceTrust.Core.Devices;

/// <summary>
/// A quote's TPMS_CLOCK_INFO: milliseconds the TPM has been powered (<see cref="Clock"/>), TPM resets (reboots) and
/// restarts (resume from hibernation) since it was made. A real TPM only moves these forward; a copy of its state
/// (a cloned software TPM, a restored VM snapshot) runs the same numbers again.
/// </summary>
public sealed record TpmClock(ulong Clock, uint ResetCount, uint RestartCount)
{
    /// <summary>
    /// Refuses <paramref name="now"/> when it is behind <paramref name="last"/>, the device's previous quote. Within
    /// one boot (same counters) the clock must not go back. Across boots the counters must not go back either, but
    /// only when <paramref name="countersOrdered"/>: a TPM obfuscates them for keys outside the endorsement and
    /// platform hierarchies (TPM-NOTES G14), where only equality means anything.
    /// </summary>
    public static void EnsureForward(TpmClock? last, TpmClock now, bool countersOrdered)
    {
        if (last is null)
        {
            return;
        }
        if (now.ResetCount == last.ResetCount && now.RestartCount == last.RestartCount)
        {
            if (now.Clock < last.Clock)
            {
                throw Errors.DeviceTrustException.PermissionDenied(
                    $"possible clone: the TPM's clock went back from {last.Clock} ms to {now.Clock} ms within one boot (another copy of this TPM's state has answered before)");
            }
            return;
        }
        if (countersOrdered && (now.ResetCount < last.ResetCount || (now.ResetCount == last.ResetCount && now.RestartCount < last.RestartCount)))
        {
            throw Errors.DeviceTrustException.PermissionDenied(
                $"possible clone or rollback: the TPM's boot counters went back (reset {last.ResetCount} → {now.ResetCount}, restart {last.RestartCount} → {now.RestartCount})");
        }
    }
}
