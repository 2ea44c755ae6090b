using System.Buffers;
using System.Buffers.Binary;

namespace DeviceTrust.Tpm.Codec;

/// <summary>Writes TPM wire structures (big-endian, TPM2B = u16 size ‖ bytes).</summary>
public sealed class TpmWriter
{
    private readonly ArrayBufferWriter<byte> _buffer = new();

    public TpmWriter U8(byte value)
    {
        _buffer.Write([value]);
        return this;
    }

    public TpmWriter U16(ushort value)
    {
        Span<byte> bytes = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16BigEndian(bytes, value);
        _buffer.Write(bytes);
        return this;
    }

    public TpmWriter U32(uint value)
    {
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, value);
        _buffer.Write(bytes);
        return this;
    }

    public TpmWriter U64(ulong value)
    {
        Span<byte> bytes = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(bytes, value);
        _buffer.Write(bytes);
        return this;
    }

    public TpmWriter Bytes(ReadOnlySpan<byte> value)
    {
        _buffer.Write(value);
        return this;
    }

    public TpmWriter Sized(ReadOnlySpan<byte> value)
    {
        if (value.Length > ushort.MaxValue)
        {
            throw new ArgumentException("a TPM2B holds at most 65535 bytes", nameof(value));
        }
        U16((ushort)value.Length);
        return Bytes(value);
    }

    public byte[] ToArray() => _buffer.WrittenSpan.ToArray();
}
