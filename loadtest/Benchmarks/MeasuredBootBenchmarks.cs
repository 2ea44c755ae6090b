using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using DeviceTrust.Testing;
using DeviceTrust.Tpm.Codec;
using DeviceTrust.Tpm.EventLog;
using DeviceTrust.Tpm.Verification;
using static DeviceTrust.Testing.TcgLogWriter;

namespace DeviceTrust.LoadTest.Benchmarks;

/// <summary>
/// What a boot policy adds to each TPM authentication, on a log shaped like a laptop's (SHA-1 and SHA-256 banks, 48
/// firmware events, Secure Boot variables with 4 KiB databases, a dbx of 430 SHA-256 entries, 3 EFI applications):
/// parse and replay against the quoted PCRs (what every authentication with a log already does), then the boot facts,
/// then a policy with every kind of rule. The quote's signature (~70–150 µs, <c>loadtest tpm-verify</c>) is not included.
/// </summary>
[MemoryDiagnoser]
public class MeasuredBootBenchmarks
{
    private byte[] _log = null!;
    private List<PcrValue> _pcrs = null!;
    private BootPolicy _policy = null!;

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(7);
        byte[] Bytes(int n)
        {
            var b = new byte[n];
            random.NextBytes(b);
            return b;
        }
        var events = new List<Event>();
        foreach (var pcr in new[] { 0, 1, 2, 3, 5, 6 })
        {
            for (var i = 0; i < 8; i++)
            {
                events.Add(new Event(pcr, EvPostCode, Bytes(64)));
            }
        }
        events.Add(new Event(7, UefiEvents.EvEfiVariableDriverConfig, Variable(UefiEvents.GlobalVariable, "SecureBoot", [1])));
        foreach (var name in new[] { "PK", "KEK", "db" })
        {
            events.Add(new Event(7, UefiEvents.EvEfiVariableDriverConfig, Variable(name == "db" ? UefiEvents.ImageSecurityDatabase : UefiEvents.GlobalVariable, name, Bytes(4096))));
        }
        var revoked = Enumerable.Range(0, 430).Select(_ => Bytes(32)).ToArray();
        events.Add(new Event(7, UefiEvents.EvEfiVariableDriverConfig, Variable(UefiEvents.ImageSecurityDatabase, "dbx", Sha256SignatureList(revoked))));
        var applications = Enumerable.Range(0, 3).Select(_ => Bytes(32)).ToArray();
        events.AddRange(applications.Select(a => new Event(4, UefiEvents.EvEfiBootServicesApplication, Bytes(40), Sha256: a)));
        _log = Agile(events, TpmAlg.Sha1, TpmAlg.Sha256);
        // the values a quote over this boot would carry: the log's own replay, in the SHA-256 bank
        _pcrs = TcgEventLog.Parse(_log).Replay().Where(p => p.Key.Hash == TpmAlg.Sha256).Select(p => new PcrValue(p.Key.Hash, p.Key.Index, p.Value)).ToList();
        _policy = new BootPolicy([new GoldenPcr(TpmAlg.Sha256, 0, [_pcrs.Single(p => p.Index == 0).Digest])], true,
            applications.Select(Convert.ToHexStringLower).ToList(), [Convert.ToHexStringLower(revoked[^1])]);
    }

    [Benchmark(Baseline = true, Description = "parse + replay (every authentication with a log)")]
    public int Replay()
    {
        var log = TcgEventLog.Parse(_log);
        log.Verify(_pcrs);
        return log.Events.Count;
    }

    [Benchmark(Description = "+ boot facts")]
    public bool? Facts()
    {
        var log = TcgEventLog.Parse(_log);
        log.Verify(_pcrs);
        return BootFacts.Read(log, _log, _pcrs).SecureBoot;
    }

    [Benchmark(Description = "+ boot facts + policy (every rule)")]
    public bool? Policy()
    {
        var log = TcgEventLog.Parse(_log);
        log.Verify(_pcrs);
        var facts = BootFacts.Read(log, _log, _pcrs);
        _policy.Check(_pcrs, facts);
        return facts.SecureBoot;
    }

    /// <summary>For scale: hashing the log once, which the boot facts include.</summary>
    [Benchmark(Description = "SHA-256 of the log")]
    public byte[] Hash() => SHA256.HashData(_log);
}
