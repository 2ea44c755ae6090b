namespace DeviceTrust.Grains.Authorities;

/// <summary>
/// Where the rotation of one CA stands. <see cref="Standby"/>: one CA, trusted and signing. <see cref="Published"/>:
/// a next CA exists and is trusted everywhere (handed to clients, nodes and gateways), the current one still signs.
/// <see cref="Switched"/>: the next CA signs; the one it replaced is still trusted until the rotation is finished.
/// </summary>
public enum CaRotationPhase
{
    Standby = 0,
    Published = 1,
    Switched = 2,
}

/// <summary>A step of a rotation: Standby →Start→ Published →Switch→ Switched →Finish→ Standby; Published →Cancel→ Standby.</summary>
public enum CaRotationStep
{
    Start = 1,
    Switch = 2,
    Finish = 3,
    Cancel = 4,
}

/// <summary>
/// The rotation state of a CA. <paramref name="Generation"/> grows with every step, so a gateway knows when to load
/// the CAs again; <paramref name="Changed"/> is when the last step was taken (null before the first rotation).
/// </summary>
[GenerateSerializer, Immutable, Alias("dt.CaRotation")]
public sealed record CaRotation(
    [property: Id(0)] CaRotationPhase Phase,
    [property: Id(1)] int Generation,
    [property: Id(2)] DateTimeOffset? Changed);
