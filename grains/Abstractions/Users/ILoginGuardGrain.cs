namespace DeviceTrust.Grains.Users;

/// <summary>
/// Consecutive wrong passwords for one user name, per source address, and the delay they impose
/// (<see cref="Core.Passwords.LoginDelays"/>). Keyed by the user name as typed, whether or not such a user exists,
/// so the answers never tell which names are real. Memory only: a restart forgets, which is a delay's nature.
/// </summary>
[Alias("dt.ILoginGuardGrain")]
public interface ILoginGuardGrain : IGrainWithStringKey
{
    /// <summary>Throws ResourceExhausted with the time left when a delay for this source is still running.</summary>
    [Alias("EnsureAllowed")]
    Task EnsureAllowedAsync(string source);

    /// <summary>Counts a wrong password; returns the delay it starts or lengthens, if any.</summary>
    [Alias("RecordFailure")]
    Task<LoginDelay?> RecordFailureAsync(string source);

    /// <summary>Clears the count after a correct password; returns the delay that was in force, if any.</summary>
    [Alias("RecordSuccess")]
    Task<LoginDelay?> RecordSuccessAsync(string source);
}

[GenerateSerializer, Immutable, Alias("dt.LoginDelay")]
public sealed record LoginDelay([property: Id(0)] int Failures, [property: Id(1)] TimeSpan Delay);
