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
    internal static byte[] BuildLog(IEnumerable<(int Pcr, string Text)> events, ushort[]? banks = null)
    {
        banks ??= [TpmAlg.Sha1, TpmAlg.Sha256];
        var log = new List<byte>();
        void U32(uint v) { var b = new byte[4]; BinaryPrimitives.WriteUInt32LittleEndian(b, v); log.AddRange(b); }
        void U16(ushort v) { var b = new byte[2]; BinaryPrimitives.WriteUInt16LittleEndian(b, v); log.AddRange(b); }
        var spec = new List<byte>(Encoding.ASCII.GetBytes("Spec ID Event03\0"));
        spec.AddRange([0, 0, 0, 0, 0, 2, 0, 2]); // platformClass, version 2.0 errata 0, uintnSize 2
        spec.AddRange(BitConverter.GetBytes((uint)banks.Length));
        foreach (var bank in banks)
        {
            spec.AddRange(BitConverter.GetBytes(bank));
            spec.AddRange(BitConverter.GetBytes((ushort)TpmAlg.DigestSize(bank)));
        }
        spec.Add(0);
        U32(0);
        U32(TcgEventLog.EvNoAction);
        log.AddRange(new byte[20]);
        U32((uint)spec.Count);
        log.AddRange(spec);
        foreach (var (pcr, text) in events)
        {
            var data = Encoding.ASCII.GetBytes(text);
            U32((uint)pcr);
            U32(EvPostCode);
            U32((uint)banks.Length);
            foreach (var bank in banks)
            {
                U16(bank);
                log.AddRange(TpmAlg.Hash(bank, data));
            }
            U32((uint)data.Length);
            log.AddRange(data);
        }
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
    public void A_log_that_measures_none_of_the_quoted_pcrs_is_refused() =>
        Assert.Equal("event log measures none of the quoted PCRs",
            Assert.Throws<TpmVerificationException>(() => TcgEventLog.Parse(BuildLog([(14, "x")])).Verify([new PcrValue(TpmAlg.Sha256, 0, new byte[32])])).Message);

    [Fact]
    public void Malformed_logs_are_refused()
    {
        var log = BuildLog(Boot);
        Assert.Contains("truncated", Assert.Throws<TpmFormatException>(() => TcgEventLog.Parse(log.AsSpan(0, log.Length - 3))).Message);
        var notAgile = log.ToArray();
        notAgile[4] = 0x01; // the first event is a measurement, not the EV_NO_ACTION header: a SHA-1-only (legacy) log
        Assert.Contains("Spec ID", Assert.Throws<TpmFormatException>(() => TcgEventLog.Parse(notAgile)).Message);
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
        var (attest, signature, pcrs) = device.Quote(nonce, [new Structures.PcrBank(TpmAlg.Sha256, [12, 13])]);
        QuoteEvidence.Verify(ak, attest, signature, nonce, pcrs, EventLogFactory.Build(events));
        Assert.Throws<TpmVerificationException>(() => QuoteEvidence.Verify(ak, attest, signature, nonce, pcrs, EventLogFactory.Build([(12, "bootloader"), (13, "rootkit")])));
    }
}

internal static class EventLogFactory
{
    public static byte[] Build(IEnumerable<(int Pcr, string Text)> events) => EventLogTests.BuildLog(events);
}
