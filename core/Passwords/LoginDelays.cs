namespace DeviceTrust.Core.Passwords;

/// <summary>
/// How long the next password attempt for a user from one source must wait after consecutive wrong passwords:
/// nothing for the first <see cref="FreeAttempts"/>, then 1 s, doubling up to <see cref="Longest"/>. A delay, never a
/// lockout: an attacker can slow guessing down for themselves, but cannot lock a known user out, and the delay
/// counts per (user, source address), so one who fails from elsewhere does not delay the user at their own machine.
/// A correct password clears it.
/// </summary>
public static class LoginDelays
{
    public const int FreeAttempts = 3;
    public static readonly TimeSpan First = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan Longest = TimeSpan.FromMinutes(5);

    /// <summary>Failures are forgotten after this long without another one.</summary>
    public static readonly TimeSpan ForgetAfter = TimeSpan.FromHours(1);

    /// <summary>The wait after <paramref name="consecutiveFailures"/> wrong passwords in a row, or null for none.</summary>
    public static TimeSpan? After(int consecutiveFailures)
    {
        if (consecutiveFailures < FreeAttempts)
        {
            return null;
        }
        var doublings = Math.Min(consecutiveFailures - FreeAttempts, 20);
        var delay = First * Math.Pow(2, doublings);
        return delay < Longest ? delay : Longest;
    }
}
