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

    public const int MaxBanks = 4;

    /// <summary>
    /// Reads <c>sha256:0-7</c>, <c>sha256:0-7,14 sha1:0-7</c> (banks separated by spaces; PCRs 0–23 as numbers and
    /// ranges); throws <see cref="TpmFormatException"/> with what is wrong.
    /// </summary>
    public static IReadOnlyList<PcrBank> ParseBanks(string spec)
    {
        var banks = new List<PcrBank>();
        var parts = spec.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (parts.Length is 0 or > MaxBanks)
        {
            throw new TpmFormatException($"give 1 to {MaxBanks} banks, like sha256:0-7");
        }
        foreach (var part in parts)
        {
            var colon = part.IndexOf(':', StringComparison.Ordinal);
            var name = colon < 0 ? part : part[..colon].ToLowerInvariant();
            var hash = TpmAlg.HashByName(name)
                ?? throw new TpmFormatException($"\"{Clip(part)}\" is not bank:PCRs with a bank of sha1, sha256, sha384 or sha512");
            if (colon < 0 || banks.Any(b => b.Hash == hash))
            {
                throw new TpmFormatException(colon < 0 ? $"\"{Clip(part)}\" names no PCRs: write {name}:0-7" : $"bank {name} is given twice");
            }
            var pcrs = new SortedSet<int>();
            foreach (var item in part[(colon + 1)..].Split(','))
            {
                var range = item.Split('-');
                if (range.Length > 2 || !range.All(r => r.Length is > 0 and <= 2 && r.All(char.IsAsciiDigit)))
                {
                    throw new TpmFormatException($"\"{Clip(item)}\" is not a PCR number or range like 0-7");
                }
                var (from, to) = (int.Parse(range[0], System.Globalization.CultureInfo.InvariantCulture), int.Parse(range[^1], System.Globalization.CultureInfo.InvariantCulture));
                if (from > to || to > 23)
                {
                    throw new TpmFormatException($"PCRs {item} are not in 0-23 in order");
                }
                for (var i = from; i <= to; i++)
                {
                    pcrs.Add(i);
                }
            }
            banks.Add(new PcrBank(hash, [.. pcrs]));
        }
        return banks;
    }

    /// <summary>The text <see cref="ParseBanks"/> reads: <c>sha256:0-7</c>.</summary>
    public static string Spec(IReadOnlyList<PcrBank> banks) => string.Join(" ", banks.Select(b => $"{TpmAlg.Name(b.Hash).ToLowerInvariant()}:{Ranges(b.Pcrs)}"));

    /// <summary>Every PCR of both, bank by bank.</summary>
    public static IReadOnlyList<PcrBank> Union(IReadOnlyList<PcrBank> a, IReadOnlyList<PcrBank> b) =>
        a.Concat(b).GroupBy(x => x.Hash).OrderBy(g => g.Key == TpmAlg.Sha256 ? 0 : g.Key)
            .Select(g => new PcrBank(g.Key, [.. g.SelectMany(x => x.Pcrs).Distinct().Order()])).ToList();

    private static string Clip(string text) => text.Length > 40 ? text[..40] + "…" : text;

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
