using System.Security.Cryptography;
using DeviceTrust.Tpm.Codec;
using DeviceTrust.Tpm.EventLog;
using DeviceTrust.Tpm.Structures;

namespace DeviceTrust.Tpm.Verification;

/// <summary>
/// What a verified event log says about how the machine booted, read only from events in PCRs whose replay matched
/// the quote (in the bank that matched): Secure Boot state and dbx from PCR 7, the EFI applications the firmware
/// started (boot loaders, EFI-stub kernels) from PCR 4. A value the log does not establish is null, with the reason.
/// </summary>
public sealed record BootFacts(
    string LogSha256,
    int Events,
    bool? SecureBoot,
    string SecureBootUnknown,
    IReadOnlyList<string> BootApplications,
    string BootApplicationsUnknown,
    IReadOnlySet<string>? DbxSha256,
    string DbxUnknown)
{
    public const int MaxBootApplications = 64;

    /// <summary>The facts of <paramref name="log"/>, which <see cref="TcgEventLog.Verify"/> already checked against <paramref name="verified"/>.</summary>
    public static BootFacts Read(TcgEventLog log, ReadOnlySpan<byte> raw, IReadOnlyList<PcrValue> verified)
    {
        var measured = log.MeasuredPcrs;
        ushort? Bank(int pcr, params ushort[] preferred) =>
            !measured.Contains(pcr) ? null : preferred.Cast<ushort?>().FirstOrDefault(b => verified.Any(p => p.Hash == b && p.Index == pcr) && log.Banks.ContainsKey(b!.Value));
        var all = new[] { TpmAlg.Sha256, TpmAlg.Sha384, TpmAlg.Sha512, TpmAlg.Sha1 };

        bool? secureBoot = null;
        var secureBootUnknown = "the event log measures no SecureBoot variable in PCR 7";
        IReadOnlySet<string>? dbx = null;
        var dbxUnknown = "the event log measures no dbx in PCR 7";
        if (Bank(7, all) is { } bank7)
        {
            foreach (var (e, number) in log.Events.Select((e, i) => (e, i + 1)).Where(x => x.e.Pcr == 7 && x.e.Type == UefiEvents.EvEfiVariableDriverConfig))
            {
                UefiVariable variable;
                try
                {
                    variable = UefiEvents.Variable(e.Data);
                }
                catch (TpmFormatException error)
                {
                    (secureBoot, secureBootUnknown, dbx, dbxUnknown) = (null, $"event {number} in PCR 7: {error.Message}", null, $"event {number} in PCR 7: {error.Message}");
                    continue;
                }
                var forged = UefiEvents.DigestIsOfData(e, bank7)
                    ? null
                    : $"event {number} ({UefiEvents.TypeName(e.Type)} {variable.Name}, PCR 7): its {TpmAlg.Name(bank7)} digest is not the hash of its data, so its data is not what was measured";
                if (variable.Vendor == UefiEvents.GlobalVariable && variable.Name == "SecureBoot")
                {
                    (secureBoot, secureBootUnknown) = forged is not null ? ((bool?)null, forged)
                        : variable.Data.Length == 1 ? (variable.Data[0] == 1, "")
                        : ((bool?)null, $"event {number}: the SecureBoot variable is {variable.Data.Length} bytes, not 1");
                }
                else if (variable.Vendor == UefiEvents.ImageSecurityDatabase && variable.Name == "dbx")
                {
                    try
                    {
                        (dbx, dbxUnknown) = forged is not null ? ((IReadOnlySet<string>?)null, forged) : (UefiEvents.Sha256Hashes(variable.Data), "");
                    }
                    catch (TpmFormatException error)
                    {
                        (dbx, dbxUnknown) = (null, $"event {number} (dbx, PCR 7): {error.Message}");
                    }
                }
            }
        }
        else if (measured.Contains(7))
        {
            secureBootUnknown = dbxUnknown = "PCR 7 was not verified in a bank the event log records";
        }

        var applications = new List<string>();
        var applicationsUnknown = "";
        if (Bank(4, TpmAlg.Sha256) is not null)
        {
            var started = log.Events.Select((e, i) => (e, Number: i + 1)).Where(x => x.e.Pcr == 4 && x.e.Type == UefiEvents.EvEfiBootServicesApplication).ToList();
            applications = started.Where(x => x.e.Digests.ContainsKey(TpmAlg.Sha256)).Select(x => Convert.ToHexStringLower(x.e.Digests[TpmAlg.Sha256])).ToList();
            applicationsUnknown = started.FirstOrDefault(x => !x.e.Digests.ContainsKey(TpmAlg.Sha256)) is { e: not null } bare
                ? $"event {bare.Number} (EFI application, PCR 4) has no SHA-256 digest"
                : started.Count == 0 ? "the event log measures no EFI application in PCR 4" : "";
        }
        else
        {
            applicationsUnknown = measured.Contains(4)
                ? "PCR 4 was not verified in the SHA-256 bank (boot applications are compared by their SHA-256 Authenticode digest)"
                : "the event log measures nothing in PCR 4";
        }
        return new BootFacts(Convert.ToHexStringLower(SHA256.HashData(raw)), log.Events.Count, secureBoot, secureBootUnknown, applications,
            applicationsUnknown, dbx, dbxUnknown);
    }
}

/// <summary>A PCR and the values the boot policy allows for it (any one of them).</summary>
public sealed record GoldenPcr(ushort Hash, int Index, IReadOnlyList<byte[]> Values);

/// <summary>
/// Measured-boot policy: golden PCR values, and rules on the event log's content — Secure Boot enabled, the EFI
/// applications the firmware may start (SHA-256 Authenticode digests), hashes the dbx must revoke. Checked against a
/// verified quote and its verified log; a refusal names the PCR or event that failed.
/// </summary>
public sealed record BootPolicy(IReadOnlyList<GoldenPcr> Pcrs, bool RequireSecureBoot, IReadOnlyList<string>? BootApplications, IReadOnlyList<string> DbxMustRevoke)
{
    public static BootPolicy None { get; } = new([], false, null, []);

    public bool IsEmpty => Pcrs.Count == 0 && !RequireSecureBoot && BootApplications is null && DbxMustRevoke.Count == 0;

    public bool ReadsEventLog => RequireSecureBoot || BootApplications is not null || DbxMustRevoke.Count > 0;

    /// <summary>The PCRs a quote must cover for this policy to be checked.</summary>
    public IReadOnlyList<PcrBank> QuotedPcrs()
    {
        var banks = Pcrs.GroupBy(p => p.Hash).ToDictionary(g => g.Key, g => g.Select(p => p.Index).ToHashSet());
        void Need(int pcr)
        {
            if (!banks.TryGetValue(TpmAlg.Sha256, out var set))
            {
                banks[TpmAlg.Sha256] = set = [];
            }
            set.Add(pcr);
        }
        if (RequireSecureBoot || DbxMustRevoke.Count > 0)
        {
            Need(7);
        }
        if (BootApplications is not null)
        {
            Need(4);
        }
        return banks.OrderBy(b => b.Key).Select(b => new PcrBank(b.Key, [.. b.Value.Order()])).ToList();
    }

    /// <summary>Throws <see cref="TpmVerificationException"/> with the first rule the quote and log break.</summary>
    public void Check(IReadOnlyList<PcrValue> verified, BootFacts? facts)
    {
        foreach (var golden in Pcrs)
        {
            var value = verified.FirstOrDefault(p => p.Hash == golden.Hash && p.Index == golden.Index)
                ?? throw new TpmVerificationException($"the boot policy has values for PCR {TpmAlg.Name(golden.Hash)}:{golden.Index}, which the quote does not cover");
            if (!golden.Values.Any(v => v.AsSpan().SequenceEqual(value.Digest)))
            {
                throw new TpmVerificationException(
                    $"PCR {TpmAlg.Name(golden.Hash)}:{golden.Index} is {Convert.ToHexStringLower(value.Digest)}, which the boot policy does not allow");
            }
        }
        if (!ReadsEventLog)
        {
            return;
        }
        if (facts is null)
        {
            throw new TpmVerificationException("the boot policy checks the event log, and the device sent none " +
                "(dtsh sends the firmware's log when it can read /sys/kernel/security/tpm0/binary_bios_measurements, root's by default, or its copy in /run/devicetrust/)");
        }
        if (RequireSecureBoot)
        {
            switch (facts.SecureBoot)
            {
                case null:
                    throw new TpmVerificationException($"the boot policy requires Secure Boot, and it is not established: {facts.SecureBootUnknown}");
                case false:
                    throw new TpmVerificationException("Secure Boot is disabled (the SecureBoot variable measured in PCR 7 is 0), and the boot policy requires it");
            }
        }
        if (BootApplications is not null)
        {
            if (facts.BootApplicationsUnknown.Length > 0)
            {
                throw new TpmVerificationException($"the boot policy lists the allowed boot applications, and they are not established: {facts.BootApplicationsUnknown}");
            }
            if (facts.BootApplications.FirstOrDefault(a => !BootApplications.Contains(a)) is { } foreign)
            {
                throw new TpmVerificationException($"boot application sha256:{foreign} (PCR 4) is not one the boot policy allows");
            }
        }
        if (DbxMustRevoke.Count > 0)
        {
            if (facts.DbxSha256 is null)
            {
                throw new TpmVerificationException($"the boot policy requires dbx revocations, and the dbx is not established: {facts.DbxUnknown}");
            }
            if (DbxMustRevoke.FirstOrDefault(h => !facts.DbxSha256.Contains(h)) is { } missing)
            {
                throw new TpmVerificationException($"the dbx measured in PCR 7 does not revoke sha256:{missing}, which the boot policy requires");
            }
        }
    }
}
