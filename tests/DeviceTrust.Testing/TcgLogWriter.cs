using System.Text;
using DeviceTrust.Tpm.Codec;
using DeviceTrust.Tpm.EventLog;

namespace DeviceTrust.Testing;

/// <summary>
/// TCG PC Client event logs as firmware writes them (PC Client Platform Firmware Profile, "Event Logging"), for
/// tests: each event's data is its text and each digest the hash of that text, so a test can extend a TPM the same way.
/// </summary>
public static class TcgLogWriter
{
    public const uint EvPostCode = 0x00000001;

    /// <summary>
    /// One event: its PCR, type and data; its digest in each bank is the hash of <see cref="Digested"/> (the data
    /// unless given), or in the SHA-256 bank <see cref="Sha256"/> itself (an EFI application's Authenticode hash).
    /// </summary>
    public sealed record Event(int Pcr, uint Type, byte[] Data, byte[]? Digested = null, byte[]? Sha256 = null);

    /// <summary>Crypto-agile: the Spec ID Event03 header listing <paramref name="banks"/>, then TCG_PCR_EVENT2 records.</summary>
    public static byte[] Agile(IEnumerable<(int Pcr, string Text)> events, params ushort[] banks) =>
        Agile(events.Select(e => new Event(e.Pcr, EvPostCode, Encoding.ASCII.GetBytes(e.Text))), banks);

    /// <summary>The digest a TPM is extended with for <paramref name="e"/> in <paramref name="bank"/>.</summary>
    public static byte[] Digest(Event e, ushort bank) => bank == TpmAlg.Sha256 && e.Sha256 is { } digest ? digest : TpmAlg.Hash(bank, e.Digested ?? e.Data);

    /// <summary>UEFI_VARIABLE_DATA as firmware measures a variable: GUID, name length (chars), data length, UTF-16 name, data.</summary>
    public static byte[] Variable(Guid vendor, string name, byte[] data) =>
        [.. vendor.ToByteArray(), .. BitConverter.GetBytes((ulong)name.Length), .. BitConverter.GetBytes((ulong)data.Length), .. Encoding.Unicode.GetBytes(name), .. data];

    /// <summary>One EFI_SIGNATURE_LIST of SHA-256 hashes (EFI_CERT_SHA256_GUID), each with an owner GUID.</summary>
    public static byte[] Sha256SignatureList(params byte[][] hashes)
    {
        var owner = Guid.Parse("77fa9abd-0359-4d32-bd60-28f4e78f784b");
        List<byte> list = [.. UefiEvents.CertSha256.ToByteArray(), .. BitConverter.GetBytes((uint)(28 + hashes.Length * 48)), .. BitConverter.GetBytes(0u), .. BitConverter.GetBytes(48u)];
        foreach (var hash in hashes)
        {
            list.AddRange([.. owner.ToByteArray(), .. hash]);
        }
        return [.. list];
    }

    /// <summary>Crypto-agile, with events of any type and data.</summary>
    public static byte[] Agile(IEnumerable<Event> events, params ushort[] banks)
    {
        banks = banks.Length == 0 ? [TpmAlg.Sha1, TpmAlg.Sha256] : banks;
        List<byte> spec = [.. Encoding.ASCII.GetBytes("Spec ID Event03\0"), 0, 0, 0, 0, 0, 2, 0, 2, .. BitConverter.GetBytes((uint)banks.Length)];
        foreach (var bank in banks)
        {
            spec.AddRange([.. BitConverter.GetBytes(bank), .. BitConverter.GetBytes((ushort)TpmAlg.DigestSize(bank))]);
        }
        spec.Add(0);
        List<byte> log = [.. BitConverter.GetBytes(0u), .. BitConverter.GetBytes(TcgEventLog.EvNoAction), .. new byte[20], .. BitConverter.GetBytes((uint)spec.Count), .. spec];
        foreach (var e in events)
        {
            log.AddRange([.. BitConverter.GetBytes((uint)e.Pcr), .. BitConverter.GetBytes(e.Type), .. BitConverter.GetBytes((uint)banks.Length)]);
            foreach (var bank in banks)
            {
                log.AddRange([.. BitConverter.GetBytes(bank), .. Digest(e, bank)]);
            }
            log.AddRange([.. BitConverter.GetBytes((uint)e.Data.Length), .. e.Data]);
        }
        return [.. log];
    }

    /// <summary>Legacy SHA-1: TCG_PCClientPCREvent records only (index, type, SHA-1 digest, size, data).</summary>
    public static byte[] Legacy(IEnumerable<(int Pcr, string Text)> events)
    {
        var log = new List<byte>();
        foreach (var (pcr, text) in events)
        {
            var data = Encoding.ASCII.GetBytes(text);
            log.AddRange([.. BitConverter.GetBytes((uint)pcr), .. BitConverter.GetBytes(EvPostCode), .. TpmAlg.Hash(TpmAlg.Sha1, data),
                .. BitConverter.GetBytes((uint)data.Length), .. data]);
        }
        return [.. log];
    }
}
