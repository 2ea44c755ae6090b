using DeviceTrust.Tpm.EventLog;
using DeviceTrust.Tpm.Structures;

namespace DeviceTrust.Tpm.Verification;

/// <summary>
/// Everything a device proves with one answer: the quote (see <see cref="QuoteVerifier"/>) and, when it sends one,
/// an event log that must replay to the quoted PCR values, with no entry for a PCR the quote leaves out.
/// </summary>
public static class QuoteEvidence
{
    public static TpmAttest Verify(TpmPublic ak, ReadOnlySpan<byte> attestation, ReadOnlySpan<byte> signature, ReadOnlySpan<byte> nonce,
        IReadOnlyList<PcrValue> pcrs, ReadOnlySpan<byte> eventLog, QuotePolicy? policy = null)
    {
        var verified = QuoteVerifier.VerifyCovered(ak, attestation, signature, nonce, pcrs, policy ?? QuotePolicy.Default);
        if (!eventLog.IsEmpty)
        {
            TcgEventLog.Parse(eventLog).Verify(verified.Pcrs);
        }
        return verified.Quote;
    }
}
