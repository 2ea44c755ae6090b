using System.Buffers.Binary;
using System.Text;
using DeviceTrust.Tpm.Codec;
using DeviceTrust.Tpm.Verification;

namespace DeviceTrust.Tpm.EventLog;

/// <summary>
/// One measurement: which PCR, what kind of event, the digest per bank, the event data. EV_NO_ACTION events measure
/// nothing and may carry any index (Windows logs put one at 0xFFFFFFFF): theirs is <see cref="NoPcr"/> when it is not 0–23.
/// </summary>
public sealed record TcgEvent(int Pcr, uint Type, IReadOnlyDictionary<ushort, byte[]> Digests, byte[] Data)
{
    public const int NoPcr = -1;
}

/// <summary>
/// A TCG PC Client event log (PC Client Platform Firmware Profile, "Event Logging"), in either format: crypto-agile
/// — a first SHA-1-format event carrying the "Spec ID Event03" header that lists the banks and digest sizes, then
/// TCG_PCR_EVENT2 records — or the legacy SHA-1 format of TPM 1.2-era firmware and many TPM 2.0 machines still
/// (TCG_PCClientPCREvent records only: index, type, SHA-1 digest, data), which replays against the SHA-1 bank.
/// Little-endian, unlike the TPM's own structures. Parsing is strict (sizes, banks, trailing bytes);
/// <see cref="Replay"/> recomputes the PCRs and <see cref="Verify"/> compares them with what was quoted.
/// </summary>
public sealed class TcgEventLog
{
    public const uint EvNoAction = 0x00000003;
    private const int Sha1Size = 20;
    public const int MaxBytes = 512 * 1024;
    private const int MaxEventData = 64 * 1024;
    private static readonly byte[] SpecIdSignature = Encoding.ASCII.GetBytes("Spec ID Event03\0");
    private static readonly byte[] StartupLocalitySignature = Encoding.ASCII.GetBytes("StartupLocality\0");

    private TcgEventLog(IReadOnlyDictionary<ushort, int> banks, IReadOnlyList<TcgEvent> events, byte startupLocality, bool legacy)
    {
        Banks = banks;
        Events = events;
        StartupLocality = startupLocality;
        IsLegacy = legacy;
    }

    /// <summary>A SHA-1-only log (no Spec ID Event03 header): it can only be checked against the SHA-1 bank.</summary>
    public bool IsLegacy { get; }

    /// <summary>The PCRs the log's events extend (EV_NO_ACTION events extend nothing).</summary>
    public IReadOnlySet<int> MeasuredPcrs => Events.Where(e => e.Type != EvNoAction).Select(e => e.Pcr).ToHashSet();

    /// <summary>The banks the log records, with their digest sizes (from the Spec ID event).</summary>
    public IReadOnlyDictionary<ushort, int> Banks { get; }
    public IReadOnlyList<TcgEvent> Events { get; }
    public byte StartupLocality { get; }

    public static TcgEventLog Parse(ReadOnlySpan<byte> log)
    {
        if (log.Length > MaxBytes)
        {
            throw new TpmFormatException($"event log is larger than {MaxBytes} bytes");
        }
        if (log.IsEmpty)
        {
            throw new TpmFormatException("event log is empty");
        }
        var reader = new LittleEndianReader(log);
        // the first event is always in the SHA-1 format; in a crypto-agile log it is EV_NO_ACTION with the Spec ID header
        var firstPcr = reader.U32("first event pcrIndex");
        var firstType = reader.U32("first event type");
        reader.Bytes(Sha1Size, "first event digest");
        var header = reader.Bytes((int)reader.U32("first event size", MaxEventData), "first event data");
        var events = new List<TcgEvent>();
        byte locality = 0;
        if (firstPcr != 0 || firstType != EvNoAction || header.Length < 16 || !header[..16].SequenceEqual(SpecIdSignature))
        {
            // legacy: every record is TCG_PCClientPCREvent, the first one included
            reader = new LittleEndianReader(log);
            var sha1 = new Dictionary<ushort, int> { [TpmAlg.Sha1] = Sha1Size };
            while (reader.Remaining > 0)
            {
                var (pcr, type) = Header(ref reader, events.Count);
                var digest = reader.Bytes(Sha1Size, "digest").ToArray();
                var data = reader.Bytes((int)reader.U32("event size", MaxEventData), "event data").ToArray();
                locality = Add(events, pcr, type, new Dictionary<ushort, byte[]> { [TpmAlg.Sha1] = digest }, data, locality);
            }
            return new TcgEventLog(sha1, events, locality, legacy: true);
        }
        var banks = ParseSpecId(header);
        while (reader.Remaining > 0)
        {
            var (pcr, type) = Header(ref reader, events.Count);
            var count = reader.U32("digest count", (uint)banks.Count);
            var digests = new Dictionary<ushort, byte[]>();
            for (var i = 0; i < count; i++)
            {
                var alg = reader.U16("digest algorithm");
                if (!banks.TryGetValue(alg, out var size))
                {
                    throw new TpmFormatException($"event {events.Count + 1}: digest algorithm 0x{alg:x4} is not in the log header");
                }
                if (!digests.TryAdd(alg, reader.Bytes(size, "digest").ToArray()))
                {
                    throw new TpmFormatException($"event {events.Count + 1}: two digests for bank 0x{alg:x4}");
                }
            }
            var data = reader.Bytes((int)reader.U32("event size", MaxEventData), "event data").ToArray();
            locality = Add(events, pcr, type, digests, data, locality);
        }
        return new TcgEventLog(banks, events, locality, legacy: false);
    }

    /// <summary>An event's index and type: a measuring event must name PCR 0–23; EV_NO_ACTION may name any.</summary>
    private static (int Pcr, uint Type) Header(ref LittleEndianReader reader, int count)
    {
        var pcr = reader.U32("pcrIndex");
        var type = reader.U32("eventType");
        if (pcr <= 23)
        {
            return ((int)pcr, type);
        }
        return type == EvNoAction ? (TcgEvent.NoPcr, type) : throw new TpmFormatException($"event {count + 1}: PCR index {pcr} is out of range");
    }

    private static byte Add(List<TcgEvent> events, int pcr, uint type, Dictionary<ushort, byte[]> digests, byte[] data, byte locality)
    {
        events.Add(new TcgEvent(pcr, type, digests, data));
        return type == EvNoAction && data.Length == 17 && data.AsSpan(0, 16).SequenceEqual(StartupLocalitySignature) ? data[16] : locality;
    }

    /// <summary>The PCR values the log leads to, per (bank, index). EV_NO_ACTION events are not measured.</summary>
    public IReadOnlyDictionary<(ushort Hash, int Index), byte[]> Replay()
    {
        var pcrs = new Dictionary<(ushort, int), byte[]>();
        foreach (var e in Events.Where(e => e.Type != EvNoAction))
        {
            foreach (var (alg, digest) in e.Digests)
            {
                if (!pcrs.TryGetValue((alg, e.Pcr), out var value))
                {
                    value = new byte[Banks[alg]];
                    if (e.Pcr == 0)
                    {
                        value[^1] = StartupLocality; // the locality the platform started the TPM from
                    }
                }
                pcrs[(alg, e.Pcr)] = TpmAlg.Hash(alg, [.. value, .. digest]);
            }
        }
        return pcrs;
    }

    /// <summary>
    /// Checks the log against the PCR values a quote covered: every PCR the log measures must be covered in a bank
    /// the log records (no entry goes unchecked: quote that PCR too), and every covered PCR the log measures must
    /// equal the log's replay, so the events describe what the quote signed. Throws with the first that fails.
    /// </summary>
    public void Verify(IReadOnlyList<PcrValue> quoted)
    {
        var checkable = quoted.Where(p => Banks.ContainsKey(p.Hash)).ToList();
        if (checkable.Count == 0)
        {
            throw new TpmVerificationException(IsLegacy
                ? "the event log is a SHA-1 (legacy) log, and the quote covers no SHA-1 PCR it could be checked against: quote the SHA-1 bank too"
                : $"the event log records banks {string.Join(", ", Banks.Keys.Select(TpmAlg.Name))}, none of which the quote covers");
        }
        if (MeasuredPcrs.Order().FirstOrDefault(i => checkable.All(p => p.Index != i), TcgEvent.NoPcr) is var unverified and not TcgEvent.NoPcr)
        {
            throw new TpmVerificationException($"the event log measures PCR {unverified}, which the quote does not cover: its entries could not be checked");
        }
        var replayed = Replay();
        var compared = 0;
        foreach (var pcr in checkable)
        {
            if (replayed.TryGetValue((pcr.Hash, pcr.Index), out var value))
            {
                compared++;
                if (!value.AsSpan().SequenceEqual(pcr.Digest))
                {
                    throw new TpmVerificationException($"event log does not replay to PCR {TpmAlg.Name(pcr.Hash)}:{pcr.Index}");
                }
            }
        }
        if (compared == 0)
        {
            throw new TpmVerificationException("event log measures none of the quoted PCRs");
        }
    }

    private static Dictionary<ushort, int> ParseSpecId(ReadOnlySpan<byte> header)
    {
        var reader = new LittleEndianReader(header[16..]);
        reader.U32("platformClass");
        reader.Bytes(4, "spec version and uintnSize");
        var count = reader.U32("numberOfAlgorithms", 8);
        var banks = new Dictionary<ushort, int>();
        for (var i = 0; i < count; i++)
        {
            var alg = reader.U16("algorithmId");
            var size = reader.U16("digestSize");
            if (TpmAlg.IsHash(alg))
            {
                if (size != TpmAlg.DigestSize(alg))
                {
                    throw new TpmFormatException($"log header: bank 0x{alg:x4} with digest size {size}");
                }
            }
            else if (size > 64)
            {
                throw new TpmFormatException($"log header: unknown bank 0x{alg:x4} with digest size {size}");
            }
            banks[alg] = size;
        }
        var vendor = reader.U8("vendorInfoSize");
        reader.Bytes(vendor, "vendorInfo");
        if (reader.Remaining != 0)
        {
            throw new TpmFormatException("log header: trailing bytes");
        }
        return banks;
    }

    private ref struct LittleEndianReader(ReadOnlySpan<byte> data)
    {
        private readonly ReadOnlySpan<byte> _data = data;
        private int _position;

        public readonly int Remaining => _data.Length - _position;

        public byte U8(string field) => Bytes(1, field)[0];

        public ushort U16(string field) => BinaryPrimitives.ReadUInt16LittleEndian(Bytes(2, field));

        public uint U32(string field, uint max = uint.MaxValue)
        {
            var value = BinaryPrimitives.ReadUInt32LittleEndian(Bytes(4, field));
            return value <= max ? value : throw new TpmFormatException($"event log {field}: {value} is larger than {max}");
        }

        public ReadOnlySpan<byte> Bytes(int count, string field)
        {
            if (count > Remaining)
            {
                throw new TpmFormatException($"event log {field}: truncated");
            }
            var slice = _data.Slice(_position, count);
            _position += count;
            return slice;
        }
    }
}
