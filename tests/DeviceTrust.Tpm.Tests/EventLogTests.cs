using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using DeviceTrust.Testing;
using DeviceTrust.Tpm.Codec;
using DeviceTrust.Tpm.EventLog;
using DeviceTrust.Tpm.Verification;

namespace DeviceTrust.Tpm.Tests;

/// <summary>
/// Event logs replayed against a real TPM: the test writes a crypto-agile log, swtpm extends the same digests
/// (tpm2_pcrextend), and our replay must equal what tpm2_pcrread reads and what tpm2_eventlog computes.
/// </summary>
public sealed class EventLogTests(ClientTpmFixture fixture) : IClassFixture<ClientTpmFixture>
{
    private const uint EvPostCode = 0x00000001;
    private static readonly int[] Pcrs = [9, 10, 11];

    /// <summary>A crypto-agile log with SHA-1 and SHA-256 banks (PC Client Platform Firmware Profile layout).</summary>
    internal static byte[] BuildLog(IEnumerable<(int Pcr, string Text)> events, ushort[]? banks = null) => TcgLogWriter.Agile(events, banks ?? []);

    internal static byte[] BuildLegacyLog(IEnumerable<(int Pcr, string Text)> events) => TcgLogWriter.Legacy(events);

    /// <summary>A crypto-agile log with one EV_NO_ACTION event at PCR index <paramref name="index"/> after the first measurement.</summary>
    private static byte[] WithNoActionAt(uint index, uint type = TcgEventLog.EvNoAction)
    {
        var log = BuildLog(Boot.Take(1)).ToList();
        log.AddRange(BitConverter.GetBytes(index));
        log.AddRange(BitConverter.GetBytes(type));
        log.AddRange(BitConverter.GetBytes(2u));
        log.AddRange(BitConverter.GetBytes(TpmAlg.Sha1));
        log.AddRange(new byte[20]);
        log.AddRange(BitConverter.GetBytes(TpmAlg.Sha256));
        log.AddRange(new byte[32]);
        var data = Encoding.ASCII.GetBytes("a Windows-style no-action event");
        log.AddRange(BitConverter.GetBytes((uint)data.Length));
        log.AddRange(data);
        log.AddRange(BuildLog(Boot.Skip(1)).AsSpan(BuildLog([]).Length).ToArray());
        return log.ToArray();
    }

    private static readonly (int, string)[] Boot = [(9, "kernel"), (10, "initrd"), (9, "cmdline"), (11, "policy")];

    private async Task<List<PcrValue>> ExtendAndReadAsync(IEnumerable<(int Pcr, string Text)> events)
    {
        foreach (var (pcr, text) in events)
        {
            var data = Encoding.ASCII.GetBytes(text);
            await fixture.Tpm.ToolAsync("tpm2_pcrextend",
                $"{pcr}:sha1={Convert.ToHexStringLower(TpmAlg.Hash(TpmAlg.Sha1, data))},sha256={Convert.ToHexStringLower(TpmAlg.Hash(TpmAlg.Sha256, data))}");
        }
        var values = new List<PcrValue>();
        foreach (var (bank, alg) in new[] { ("sha1", TpmAlg.Sha1), ("sha256", TpmAlg.Sha256) })
        {
            foreach (var pcr in Pcrs)
            {
                var file = Path.Combine(fixture.Tpm.Directory, $"pcr-{Guid.NewGuid():N}");
                await fixture.Tpm.ToolAsync("tpm2_pcrread", $"{bank}:{pcr.ToString(CultureInfo.InvariantCulture)}", "-o", file);
                values.Add(new PcrValue(alg, pcr, await File.ReadAllBytesAsync(file)));
            }
        }
        return values;
    }

    [Fact]
    public async Task Our_replay_equals_the_tpm_and_tpm2_eventlog_and_a_changed_event_is_caught()
    {
        // PCRs 9-11 of this TPM are touched by this test only
        var reported = await ExtendAndReadAsync(Boot);
        var log = TcgEventLog.Parse(BuildLog(Boot));
        Assert.Equal(4, log.Events.Count);
        log.Verify(reported);
        foreach (var value in reported)
        {
            Assert.Equal(value.Digest, log.Replay()[(value.Hash, value.Index)]);
        }

        // tpm2_eventlog (tpm2-tools) parses the same bytes and computes the same PCR 10
        var file = Path.Combine(fixture.Tpm.Directory, "boot.log");
        await File.WriteAllBytesAsync(file, BuildLog(Boot));
        var parsed = await fixture.Tpm.ToolAsync("tpm2_eventlog", file);
        Assert.Contains(Convert.ToHexStringLower(reported.Single(p => p.Hash == TpmAlg.Sha256 && p.Index == 10).Digest), parsed.StdOut.ToLowerInvariant());

        // a log that tells another story than the TPM measured does not replay
        var tampered = Boot.Select(e => e.Item2 == "initrd" ? (e.Item1, "initrd-evil") : e).ToArray();
        Assert.Equal("event log does not replay to PCR SHA1:10",
            Assert.Throws<TpmVerificationException>(() => TcgEventLog.Parse(BuildLog(tampered)).Verify(reported)).Message);
        var missing = Boot.Where(e => e.Item2 != "policy").ToArray();
        Assert.Contains("PCR SHA1:11", Assert.Throws<TpmVerificationException>(() => TcgEventLog.Parse(BuildLog(missing.Append((11, "other")))).Verify(reported)).Message);
    }

    [Fact]
    public void A_log_entry_for_a_pcr_the_quote_does_not_cover_is_refused()
    {
        Assert.Equal("the event log measures PCR 14, which the quote does not cover: its entries could not be checked",
            Assert.Throws<TpmVerificationException>(() => TcgEventLog.Parse(BuildLog([(14, "x")])).Verify([new PcrValue(TpmAlg.Sha256, 0, new byte[32])])).Message);
        Assert.Equal("the event log records banks SHA256, none of which the quote covers",
            Assert.Throws<TpmVerificationException>(() => TcgEventLog.Parse(BuildLog([(0, "x")], [TpmAlg.Sha256])).Verify([new PcrValue(TpmAlg.Sha1, 0, new byte[20])])).Message);
        Assert.Equal("the event log is a SHA-1 (legacy) log, and the quote covers no SHA-1 PCR it could be checked against: quote the SHA-1 bank too",
            Assert.Throws<TpmVerificationException>(() => TcgEventLog.Parse(BuildLegacyLog([(0, "x")])).Verify([new PcrValue(TpmAlg.Sha256, 0, new byte[32])])).Message);
    }

    [Fact]
    public async Task A_legacy_sha1_log_replays_to_what_the_tpm_measured_in_its_sha1_bank()
    {
        // PCRs 14-15 of this TPM are touched by this test only
        (int, string)[] events = [(14, "legacy firmware"), (15, "legacy loader"), (14, "legacy config")];
        foreach (var (pcr, text) in events)
        {
            await fixture.Tpm.ToolAsync("tpm2_pcrextend", $"{pcr}:sha1={Convert.ToHexStringLower(TpmAlg.Hash(TpmAlg.Sha1, Encoding.ASCII.GetBytes(text)))}");
        }
        var reported = new List<PcrValue>();
        foreach (var pcr in new[] { 14, 15 })
        {
            var file = Path.Combine(fixture.Tpm.Directory, $"pcr-{Guid.NewGuid():N}");
            await fixture.Tpm.ToolAsync("tpm2_pcrread", $"sha1:{pcr.ToString(CultureInfo.InvariantCulture)}", "-o", file);
            reported.Add(new PcrValue(TpmAlg.Sha1, pcr, await File.ReadAllBytesAsync(file)));
        }
        var log = TcgEventLog.Parse(BuildLegacyLog(events));
        Assert.True(log.IsLegacy);
        Assert.Equal([TpmAlg.Sha1], log.Banks.Keys);
        Assert.Equal(3, log.Events.Count);
        log.Verify(reported);
        // tpm2_eventlog reads the same legacy bytes and computes the same PCR 14
        var logFile = Path.Combine(fixture.Tpm.Directory, "legacy.log");
        await File.WriteAllBytesAsync(logFile, BuildLegacyLog(events));
        var parsed = await fixture.Tpm.ToolAsync("tpm2_eventlog", logFile);
        Assert.Contains("14 : 0x" + Convert.ToHexStringLower(reported[0].Digest), parsed.StdOut);
        Assert.Equal("event log does not replay to PCR SHA1:15",
            Assert.Throws<TpmVerificationException>(() => TcgEventLog.Parse(BuildLegacyLog([(14, "legacy firmware"), (15, "evil loader"), (14, "legacy config")]))
                .Verify(reported)).Message);
        Assert.Contains("truncated", Assert.Throws<TpmFormatException>(() => TcgEventLog.Parse(BuildLegacyLog(events).AsSpan(0, 30))).Message);
    }

    /// <summary>(Not cross-checked with tpm2_eventlog: tpm2-tools 5.4 itself fails such a log, "PCR Index -1 is out of bounds".)</summary>
    [Fact]
    public void An_ev_no_action_event_at_any_index_is_skipped_and_a_measurement_there_is_refused()
    {
        var plain = TcgEventLog.Parse(BuildLog(Boot));
        foreach (var index in new uint[] { 0xFFFFFFFF, 24, 3 })
        {
            var log = TcgEventLog.Parse(WithNoActionAt(index));
            Assert.Equal(Boot.Length + 1, log.Events.Count);
            Assert.Equal(plain.Replay().OrderBy(p => p.Key).Select(p => Convert.ToHexString(p.Value)), log.Replay().OrderBy(p => p.Key).Select(p => Convert.ToHexString(p.Value)));
            Assert.Equal(plain.MeasuredPcrs.Order(), log.MeasuredPcrs.Order());
        }
        Assert.Equal(TcgEvent.NoPcr, TcgEventLog.Parse(WithNoActionAt(0xFFFFFFFF)).Events[1].Pcr);
        Assert.Equal("event 2: PCR index 4294967295 is out of range",
            Assert.Throws<TpmFormatException>(() => TcgEventLog.Parse(WithNoActionAt(0xFFFFFFFF, type: EvPostCode))).Message);
    }

    [Fact]
    public void Malformed_logs_are_refused()
    {
        var log = BuildLog(Boot);
        Assert.Contains("truncated", Assert.Throws<TpmFormatException>(() => TcgEventLog.Parse(log.AsSpan(0, log.Length - 3))).Message);
        Assert.Equal("event log is empty", Assert.Throws<TpmFormatException>(() => TcgEventLog.Parse([])).Message);
        var badPcr = log.ToArray();
        var firstEvent = 4 + 4 + 20 + 4 + BinaryPrimitives.ReadInt32LittleEndian(log.AsSpan(28));
        badPcr[firstEvent] = 40;
        Assert.Contains("out of range", Assert.Throws<TpmFormatException>(() => TcgEventLog.Parse(badPcr)).Message);
        var unknownBank = log.ToArray();
        unknownBank[firstEvent + 12] = 0x0C; // the first digest claims SHA-384, which the header does not list
        Assert.Contains("not in the log header", Assert.Throws<TpmFormatException>(() => TcgEventLog.Parse(unknownBank)).Message);
    }
}

/// <summary>A quote from our client and an event log, verified together the way the server does.</summary>
public sealed class QuoteWithEventLogTests(ClientTpmFixture fixture) : IClassFixture<ClientTpmFixture>
{
    [Fact]
    public async Task A_quote_with_a_matching_event_log_verifies_and_one_with_a_foreign_log_does_not()
    {
        var events = new[] { (12, "bootloader"), (13, "kernel") };
        foreach (var (pcr, text) in events)
        {
            var data = System.Text.Encoding.ASCII.GetBytes(text);
            await fixture.Tpm.ToolAsync("tpm2_pcrextend",
                $"{pcr}:sha1={Convert.ToHexStringLower(TpmAlg.Hash(TpmAlg.Sha1, data))},sha256={Convert.ToHexStringLower(TpmAlg.Hash(TpmAlg.Sha256, data))}");
        }
        var nonce = RandomNumberGenerator.GetBytes(20);
        using var device = fixture.Open();
        var ak = Structures.TpmPublic.ParseSized(device.AttestationKey(device.EndorsementKey()));
        // what the cluster requires (SHA-256 PCRs 0-7) and what the log measures
        var (attest, signature, pcrs) = device.Quote(nonce, [new Structures.PcrBank(TpmAlg.Sha256, [0, 1, 2, 3, 4, 5, 6, 7, 12, 13])]);
        QuoteEvidence.Verify(ak, attest, signature, nonce, pcrs, EventLogFactory.Build(events));
        Assert.Throws<TpmVerificationException>(() => QuoteEvidence.Verify(ak, attest, signature, nonce, pcrs, EventLogFactory.Build([(12, "bootloader"), (13, "rootkit")])));
    }
}

internal static class EventLogFactory
{
    public static byte[] Build(IEnumerable<(int Pcr, string Text)> events) => EventLogTests.BuildLog(events);
}
