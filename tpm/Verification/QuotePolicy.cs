using DeviceTrust.Tpm.Codec;
using DeviceTrust.Tpm.Structures;

namespace DeviceTrust.Tpm.Verification;

/// <summary>
/// What a quote must cover to count: the PCRs that describe the boot (by default SHA-256 PCRs 0–7: firmware, its
/// configuration, option ROMs, the boot manager, Secure Boot state). A quote over fewer — or over a bank with no PCRs
/// selected at all — proves nothing about how the machine started.
/// </summary>
public sealed record QuotePolicy(IReadOnlyList<PcrBank> RequiredPcrs)
{
    /// <summary>Admit quotes signed with SHA-1 (AKs with an RSASSA/SHA-1 scheme, as Windows makes them): off by default, weaker.</summary>
    public bool AllowSha1Signatures { get; init; }

    public static QuotePolicy Default { get; } = new([new PcrBank(TpmAlg.Sha256, [0, 1, 2, 3, 4, 5, 6, 7])]);

    /// <summary>No PCR required (a quote's cryptography alone, as <see cref="QuoteVerifier.Verify"/> checks it); empty banks are still refused.</summary>
    public static QuotePolicy None { get; } = new([]);

    /// <summary>Throws with the first required PCR the quote's selection leaves out.</summary>
    public void Check(IReadOnlyList<PcrBank> quoted)
    {
        foreach (var bank in quoted.Where(b => b.Pcrs.Count == 0))
        {
            throw new TpmVerificationException($"the quote selects bank {TpmAlg.Name(bank.Hash)} but no PCR in it");
        }
        foreach (var required in RequiredPcrs)
        {
            var selected = quoted.FirstOrDefault(b => b.Hash == required.Hash)?.Pcrs ?? [];
            if (required.Pcrs.FirstOrDefault(i => !selected.Contains(i), -1) is var missing and >= 0)
            {
                throw new TpmVerificationException(
                    $"the quote does not cover PCR {TpmAlg.Name(required.Hash)}:{missing}; the cluster requires {Describe(RequiredPcrs)}");
            }
        }
    }

    /// <summary><c>SHA256:0-7</c>, <c>SHA1:0,2,4</c>.</summary>
    public static string Describe(IReadOnlyList<PcrBank> banks) => string.Join(" and ", banks.Select(b => $"{TpmAlg.Name(b.Hash)}:{Ranges(b.Pcrs)}"));

    private static string Ranges(IReadOnlyList<int> pcrs)
    {
        var sorted = pcrs.Order().ToList();
        var parts = new List<string>();
        for (var i = 0; i < sorted.Count;)
        {
            var j = i;
            while (j + 1 < sorted.Count && sorted[j + 1] == sorted[j] + 1)
            {
                j++;
            }
            parts.Add(j > i ? $"{sorted[i]}-{sorted[j]}" : $"{sorted[i]}");
            i = j + 1;
        }
        return string.Join(",", parts);
    }
}
