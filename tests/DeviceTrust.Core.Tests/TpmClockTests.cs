using DeviceTrust.Core.Devices;
using DeviceTrust.Core.Errors;

namespace DeviceTrust.Core.Tests;

public class TpmClockTests
{
    private static readonly TpmClock Last = new(10_000, 5, 1);

    [Theory]
    [InlineData(10_000UL, 5U, 1U, true)] // the same instant (two quotes within a millisecond)
    [InlineData(12_000UL, 5U, 1U, true)] // later in the same boot
    [InlineData(100UL, 6U, 0U, true)] // rebooted: the clock may restart lower after an unorderly shutdown
    [InlineData(50UL, 5U, 2U, true)] // resumed from hibernation
    public void A_tpm_that_moves_forward_is_accepted(ulong clock, uint reset, uint restart, bool ordered) =>
        TpmClock.EnsureForward(Last, new TpmClock(clock, reset, restart), ordered);

    [Fact]
    public void A_clock_that_goes_back_within_one_boot_is_a_possible_clone_whatever_the_hierarchy()
    {
        foreach (var ordered in new[] { true, false })
        {
            var error = Assert.Throws<DeviceTrustException>(() => TpmClock.EnsureForward(Last, new TpmClock(9_999, 5, 1), ordered));
            Assert.Equal(ErrorKind.PermissionDenied, error.Kind);
            Assert.Equal("possible clone: the TPM's clock went back from 10000 ms to 9999 ms within one boot (another copy of this TPM's state has answered before)", error.Message);
        }
    }

    [Fact]
    public void Boot_counters_that_go_back_are_refused_only_where_the_tpm_does_not_obfuscate_them()
    {
        var error = Assert.Throws<DeviceTrustException>(() => TpmClock.EnsureForward(Last, new TpmClock(20_000, 4, 3), countersOrdered: true));
        Assert.Equal("possible clone or rollback: the TPM's boot counters went back (reset 5 → 4, restart 1 → 3)", error.Message);
        Assert.Throws<DeviceTrustException>(() => TpmClock.EnsureForward(Last, new TpmClock(20_000, 5, 0), countersOrdered: true));
        // obfuscated counters (an AK outside the endorsement hierarchy) only compare for equality
        TpmClock.EnsureForward(Last, new TpmClock(20_000, 4, 3), countersOrdered: false);
        TpmClock.EnsureForward(null, new TpmClock(0, 0, 0), countersOrdered: true);
    }
}
