using System.Security.Cryptography;
using DeviceTrust.Tpm.Codec;
using DeviceTrust.Tpm.Structures;

namespace DeviceTrust.Tpm.Verification;

/// <summary>A PCR value the device reports: bank hash, index, digest.</summary>
public sealed record PcrValue(ushort Hash, int Index, byte[] Digest);

/// <summary>A verified quote and the reported PCR values it covers (only those are trusted).</summary>
public sealed record VerifiedQuote(TpmAttest Quote, IReadOnlyList<PcrValue> Pcrs);

/// <summary>
/// Quote verification (TPM-NOTES §2.6): the signature by the stored AK with its own scheme, a TPM-generated quote,
/// the server's nonce (constant time), the PCR digest recomputed from the reported values, the PCRs the policy
/// requires covered (<see cref="Verify"/>: none; devices are held to <see cref="QuotePolicy.Default"/> by
/// <see cref="QuoteEvidence"/>), and, when known, the signer's qualified name. Reported values the quote does not cover (another
/// bank, another PCR: devices report what they read) are dropped, never trusted.
/// </summary>
public static class QuoteVerifier
{
    public static TpmAttest Verify(TpmPublic ak, ReadOnlySpan<byte> attestation, ReadOnlySpan<byte> signature, ReadOnlySpan<byte> nonce,
        IReadOnlyList<PcrValue> pcrs, ReadOnlySpan<byte> expectedQualifiedSigner = default) =>
        VerifyCovered(ak, attestation, signature, nonce, pcrs, QuotePolicy.None, expectedQualifiedSigner).Quote;

    public static VerifiedQuote VerifyCovered(TpmPublic ak, ReadOnlySpan<byte> attestation, ReadOnlySpan<byte> signature, ReadOnlySpan<byte> nonce,
        IReadOnlyList<PcrValue> pcrs, QuotePolicy policy, ReadOnlySpan<byte> expectedQualifiedSigner = default)
    {
        var sig = ParseSignature(signature);
        if (sig.SigAlg != ak.Scheme || sig.Hash != ak.SchemeHash)
        {
            throw new TpmVerificationException(
                $"signature scheme {TpmAlg.Name(sig.SigAlg)}/{TpmAlg.Name(sig.Hash)} is not the AK's {TpmAlg.Name(ak.Scheme)}/{TpmAlg.Name(ak.SchemeHash)}");
        }
        if (sig.Hash == TpmAlg.Sha1 && !policy.AllowSha1Signatures)
        {
            throw new TpmVerificationException(AkChecks.Sha1Refused("the quote"));
        }
        if (!sig.Verify(ak, attestation))
        {
            throw new TpmVerificationException("quote signature does not verify with the AK");
        }
        var quote = AkChecks.Parse(attestation);
        if (quote.Type != TpmAttest.TypeQuote)
        {
            throw new TpmVerificationException($"attestation type 0x{quote.Type:x4} is not a quote");
        }
        if (!CryptographicOperations.FixedTimeEquals(quote.ExtraData, nonce))
        {
            throw new TpmVerificationException("quote nonce does not match the challenge");
        }
        if (!expectedQualifiedSigner.IsEmpty && !quote.QualifiedSigner.AsSpan().SequenceEqual(expectedQualifiedSigner))
        {
            throw new TpmVerificationException("quote was signed by another key than the enrolled AK under its EK");
        }
        var byKey = new Dictionary<(ushort, int), byte[]>();
        foreach (var pcr in pcrs)
        {
            if (pcr.Digest.Length != TpmAlg.DigestSize(pcr.Hash) || !byKey.TryAdd((pcr.Hash, pcr.Index), pcr.Digest))
            {
                throw new TpmVerificationException($"PCR {TpmAlg.Name(pcr.Hash)}:{pcr.Index} is reported twice or with a wrong size");
            }
        }
        policy.Check(quote.PcrSelect);
        var covered = new List<PcrValue>();
        var concatenated = new List<byte>();
        foreach (var bank in quote.PcrSelect)
        {
            foreach (var index in bank.Pcrs)
            {
                if (!byKey.TryGetValue((bank.Hash, index), out var value))
                {
                    throw new TpmVerificationException($"PCR {TpmAlg.Name(bank.Hash)}:{index} is quoted but its value was not reported");
                }
                covered.Add(new PcrValue(bank.Hash, index, value));
                concatenated.AddRange(value);
            }
        }
        if (!CryptographicOperations.FixedTimeEquals(TpmAlg.Hash(sig.Hash, concatenated.ToArray()), quote.PcrDigest))
        {
            throw new TpmVerificationException("PCR digest does not match the reported PCR values");
        }
        return new VerifiedQuote(quote, covered);
    }

    internal static TpmSignature ParseSignature(ReadOnlySpan<byte> signature)
    {
        try
        {
            return TpmSignature.Parse(signature);
        }
        catch (TpmFormatException e)
        {
            throw new TpmVerificationException($"signature is malformed: {e.Message}", e);
        }
    }

    /// <summary>QN(child) = nameAlg ‖ H(QN(parent) ‖ Name(child)); a hierarchy's QN is its handle (Part 1, "Names").</summary>
    public static byte[] QualifiedName(ushort nameAlg, ReadOnlySpan<byte> parentQualifiedName, ReadOnlySpan<byte> name) =>
        new TpmWriter().U16(nameAlg).Bytes(TpmAlg.Hash(nameAlg, [.. parentQualifiedName, .. name])).ToArray();

    /// <summary>The endorsement hierarchy handle, the QN at the root of an EK.</summary>
    public static readonly byte[] EndorsementHierarchy = [0x40, 0x00, 0x00, 0x0B];
}
