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

    /// <summary>Crypto-agile: the Spec ID Event03 header listing <paramref name="banks"/>, then TCG_PCR_EVENT2 records.</summary>
    public static byte[] Agile(IEnumerable<(int Pcr, string Text)> events, params ushort[] banks)
    {
        banks = banks.Length == 0 ? [TpmAlg.Sha1, TpmAlg.Sha256] : banks;
        List<byte> spec = [.. Encoding.ASCII.GetBytes("Spec ID Event03\0"), 0, 0, 0, 0, 0, 2, 0, 2, .. BitConverter.GetBytes((uint)banks.Length)];
        foreach (var bank in banks)
        {
            spec.AddRange([.. BitConverter.GetBytes(bank), .. BitConverter.GetBytes((ushort)TpmAlg.DigestSize(bank))]);
        }
        spec.Add(0);
        List<byte> log = [.. BitConverter.GetBytes(0u), .. BitConverter.GetBytes(TcgEventLog.EvNoAction), .. new byte[20], .. BitConverter.GetBytes((uint)spec.Count), .. spec];
        foreach (var (pcr, text) in events)
        {
            var data = Encoding.ASCII.GetBytes(text);
            log.AddRange([.. BitConverter.GetBytes((uint)pcr), .. BitConverter.GetBytes(EvPostCode), .. BitConverter.GetBytes((uint)banks.Length)]);
            foreach (var bank in banks)
            {
                log.AddRange([.. BitConverter.GetBytes(bank), .. TpmAlg.Hash(bank, data)]);
            }
            log.AddRange([.. BitConverter.GetBytes((uint)data.Length), .. data]);
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
