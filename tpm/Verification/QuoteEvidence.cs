using DeviceTrust.Tpm.EventLog;
using DeviceTrust.Tpm.Structures;

namespace DeviceTrust.Tpm.Verification;

/// <summary>A verified answer: the quote, the PCR values it covers, and what its event log (when sent) says about the boot.</summary>
public sealed record VerifiedEvidence(TpmAttest Quote, IReadOnlyList<PcrValue> Pcrs, BootFacts? Boot);

/// <summary>
/// Everything a device proves with one answer: the quote (see <see cref="QuoteVerifier"/>) and, when it sends one,
/// an event log that must replay to the quoted PCR values, with no entry for a PCR the quote leaves out; then the
/// boot policy, if any, over both.
/// </summary>
public static class QuoteEvidence
{
    public static TpmAttest Verify(TpmPublic ak, ReadOnlySpan<byte> attestation, ReadOnlySpan<byte> signature, ReadOnlySpan<byte> nonce,
        IReadOnlyList<PcrValue> pcrs, ReadOnlySpan<byte> eventLog, QuotePolicy? policy = null) =>
        VerifyBoot(ak, attestation, signature, nonce, pcrs, eventLog, policy ?? QuotePolicy.Default, BootPolicy.None).Quote;

    public static VerifiedEvidence VerifyBoot(TpmPublic ak, ReadOnlySpan<byte> attestation, ReadOnlySpan<byte> signature, ReadOnlySpan<byte> nonce,
        IReadOnlyList<PcrValue> pcrs, ReadOnlySpan<byte> eventLog, QuotePolicy policy, BootPolicy boot)
    {
        var verified = QuoteVerifier.VerifyCovered(ak, attestation, signature, nonce, pcrs,
            policy with { RequiredPcrs = QuotePolicy.Union(policy.RequiredPcrs, boot.QuotedPcrs()) });
        BootFacts? facts = null;
        if (!eventLog.IsEmpty)
        {
            var log = TcgEventLog.Parse(eventLog);
            log.Verify(verified.Pcrs);
            facts = BootFacts.Read(log, eventLog, verified.Pcrs);
        }
        boot.Check(verified.Pcrs, facts);
        return new VerifiedEvidence(verified.Quote, verified.Pcrs, facts);
    }
}
