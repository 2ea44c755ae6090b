using DeviceTrust.Tpm.Codec;

namespace DeviceTrust.Tpm.Structures;

/// <summary>One bank of a TPML_PCR_SELECTION: a hash and the PCR indices selected in it, ascending.</summary>
public sealed record PcrBank(ushort Hash, IReadOnlyList<int> Pcrs);

/// <summary>
/// TPML_PCR_SELECTION = u32 count ‖ count × { u16 hash ‖ u8 sizeofSelect ‖ bitmap } where PCR i is bit (i mod 8) of
/// byte (i div 8). Order matters: the quote's pcrDigest hashes banks in this order, PCRs ascending within a bank.
/// </summary>
public static class PcrSelection
{
    public const int MaxBanks = 8;

    public static IReadOnlyList<PcrBank> Read(ref TpmReader reader)
    {
        var count = reader.U32("pcrSelect count");
        if (count is 0 or > MaxBanks)
        {
            throw new TpmFormatException($"pcrSelect: {count} banks (1 to {MaxBanks} accepted)");
        }
        var banks = new List<PcrBank>();
        for (var b = 0; b < count; b++)
        {
            var hash = reader.U16("pcrSelect hash");
            if (!TpmAlg.IsHash(hash))
            {
                throw new TpmFormatException($"pcrSelect: unsupported bank hash 0x{hash:x4}");
            }
            if (banks.Any(existing => existing.Hash == hash))
            {
                throw new TpmFormatException($"pcrSelect: bank {TpmAlg.Name(hash)} appears twice");
            }
            var size = reader.U8("pcrSelect sizeofSelect");
            if (size is < 3 or > 4)
            {
                throw new TpmFormatException($"pcrSelect: sizeofSelect {size} (3 or 4 accepted)");
            }
            var bitmap = reader.Bytes(size, "pcrSelect bitmap");
            var pcrs = new List<int>();
            for (var i = 0; i < size * 8; i++)
            {
                if ((bitmap[i / 8] & (1 << (i % 8))) != 0)
                {
                    pcrs.Add(i);
                }
            }
            banks.Add(new PcrBank(hash, pcrs));
        }
        return banks;
    }

    public static void Write(TpmWriter writer, IReadOnlyList<PcrBank> banks)
    {
        writer.U32((uint)banks.Count);
        foreach (var bank in banks)
        {
            var bitmap = new byte[3];
            foreach (var pcr in bank.Pcrs)
            {
                bitmap[pcr / 8] |= (byte)(1 << (pcr % 8));
            }
            writer.U16(bank.Hash).U8(3).Bytes(bitmap);
        }
    }
}
