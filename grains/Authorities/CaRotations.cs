using DeviceTrust.Core.Errors;

namespace DeviceTrust.Grains.Authorities;

/// <summary>The order of a rotation's steps, the same for every CA, and what to do when a step is out of turn.</summary>
internal static class CaRotations
{
    /// <summary>The rotation after <paramref name="step"/>; FailedPrecondition naming the phase and the step that is possible.</summary>
    public static CaRotation After(CaRotation rotation, CaRotationStep step, string what, DateTimeOffset now)
    {
        var (from, to) = step switch
        {
            CaRotationStep.Start => (CaRotationPhase.Standby, CaRotationPhase.Published),
            CaRotationStep.Switch => (CaRotationPhase.Published, CaRotationPhase.Switched),
            CaRotationStep.Finish => (CaRotationPhase.Switched, CaRotationPhase.Standby),
            CaRotationStep.Cancel => (CaRotationPhase.Published, CaRotationPhase.Standby),
            _ => throw DeviceTrustException.InvalidArgument($"unknown rotation step {(int)step}"),
        };
        if (rotation.Phase != from)
        {
            throw DeviceTrustException.FailedPrecondition($"the {what} cannot {Verb(step)}: its rotation is {Describe(rotation.Phase)}; {Possible(rotation.Phase)}");
        }
        return new CaRotation(to, rotation.Generation + 1, now);
    }

    private static string Verb(CaRotationStep step) => step switch
    {
        CaRotationStep.Start => "start a rotation",
        CaRotationStep.Switch => "switch",
        CaRotationStep.Finish => "finish a rotation",
        _ => "cancel a rotation",
    };

    public static string Describe(CaRotationPhase phase) => phase switch
    {
        CaRotationPhase.Standby => "not under way",
        CaRotationPhase.Published => "started (the next CA is published, the current one still signs)",
        _ => "switched (the new CA signs, the old one is still trusted)",
    };

    private static string Possible(CaRotationPhase phase) => phase switch
    {
        CaRotationPhase.Standby => "start one first",
        CaRotationPhase.Published => "switch or cancel it",
        _ => "finish it",
    };
}
