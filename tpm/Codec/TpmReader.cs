using System.Buffers.Binary;

namespace DeviceTrust.Tpm.Codec;

/// <summary>
/// Reads TPM wire structures (Part 2: big-endian integers, TPM2B = u16 size ‖ bytes). Strict: running out of bytes
/// is an error naming the field, and <see cref="End"/> refuses trailing bytes.
/// </summary>
public ref struct TpmReader(ReadOnlySpan<byte> data)
{
    private readonly ReadOnlySpan<byte> _data = data;
    private int _position;

    public int Position => _position;
    public int Remaining => _data.Length - _position;

    public byte U8(string field) => Take(1, field)[0];

    public ushort U16(string field) => BinaryPrimitives.ReadUInt16BigEndian(Take(2, field));

    public uint U32(string field) => BinaryPrimitives.ReadUInt32BigEndian(Take(4, field));

    public ulong U64(string field) => BinaryPrimitives.ReadUInt64BigEndian(Take(8, field));

    /// <summary>A TPM2B: u16 size then that many bytes (at most <paramref name="max"/>).</summary>
    public ReadOnlySpan<byte> Sized(string field, int max = ushort.MaxValue)
    {
        var size = U16(field + " size");
        if (size > max)
        {
            throw new TpmFormatException($"{field}: size {size} is larger than {max}");
        }
        return Take(size, field);
    }

    public ReadOnlySpan<byte> Bytes(int count, string field) => Take(count, field);

    /// <summary>The bytes read so far from <paramref name="start"/>.</summary>
    public readonly ReadOnlySpan<byte> Since(int start) => _data[start.._position];

    public readonly void End(string structure)
    {
        if (_position != _data.Length)
        {
            throw new TpmFormatException($"{structure}: {_data.Length - _position} trailing byte(s)");
        }
    }

    private ReadOnlySpan<byte> Take(int count, string field)
    {
        if (count > Remaining)
        {
            throw new TpmFormatException($"{field}: truncated (needs {count} byte(s), {Remaining} left)");
        }
        var slice = _data.Slice(_position, count);
        _position += count;
        return slice;
    }
}
