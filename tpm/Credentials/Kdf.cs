using System.Security.Cryptography;
using System.Text;
using DeviceTrust.Tpm.Codec;

namespace DeviceTrust.Tpm.Credentials;

/// <summary>The two key derivation functions of TPM 2.0 (Part 1, "Key Derivation Functions").</summary>
public static class Kdf
{
    /// <summary>KDFa: HMAC_H(K, [i]₃₂ ‖ label ‖ 0x00 ‖ U ‖ V ‖ [bits]₃₂) for i = 1, 2, …, truncated to <paramref name="bits"/>.</summary>
    public static byte[] A(ushort hash, ReadOnlySpan<byte> key, string label, ReadOnlySpan<byte> contextU, ReadOnlySpan<byte> contextV, int bits)
    {
        var output = new byte[(bits + 7) / 8];
        var produced = 0;
        for (uint i = 1; produced < output.Length; i++)
        {
            var input = new TpmWriter().U32(i).Bytes(Encoding.ASCII.GetBytes(label)).U8(0).Bytes(contextU).Bytes(contextV).U32((uint)bits).ToArray();
            var block = CryptographicOperations.HmacData(TpmAlg.HashName(hash), key, input);
            var take = Math.Min(block.Length, output.Length - produced);
            block.AsSpan(0, take).CopyTo(output.AsSpan(produced));
            produced += take;
        }
        return output;
    }

    /// <summary>KDFe: H([i]₃₂ ‖ Z ‖ use ‖ 0x00 ‖ U ‖ V) for i = 1, 2, …, truncated to <paramref name="bits"/>.</summary>
    public static byte[] E(ushort hash, ReadOnlySpan<byte> z, string use, ReadOnlySpan<byte> partyU, ReadOnlySpan<byte> partyV, int bits)
    {
        var output = new byte[(bits + 7) / 8];
        var produced = 0;
        for (uint i = 1; produced < output.Length; i++)
        {
            var block = TpmAlg.Hash(hash, new TpmWriter().U32(i).Bytes(z).Bytes(Encoding.ASCII.GetBytes(use)).U8(0).Bytes(partyU).Bytes(partyV).ToArray());
            var take = Math.Min(block.Length, output.Length - produced);
            block.AsSpan(0, take).CopyTo(output.AsSpan(produced));
            produced += take;
        }
        return output;
    }
}
