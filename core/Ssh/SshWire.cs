using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace DeviceTrust.Core.Ssh;

/// <summary>Input that is not the SSH wire encoding it claims to be. The message never quotes the input.</summary>
public sealed class SshFormatException(string message) : FormatException(message);

/// <summary>
/// The SSH wire encoding (RFC 4251 §5) for what we write: uint32 and uint64 big-endian, <c>string</c> = uint32 length
/// and bytes, <c>mpint</c> = two's complement big-endian with no needless leading byte (positive values only here).
/// </summary>
public sealed class SshWriter
{
    private readonly ArrayBufferWriter<byte> _buffer = new(256);

    public int Length => _buffer.WrittenCount;

    public ReadOnlySpan<byte> Written => _buffer.WrittenSpan;

    public SshWriter U32(uint value)
    {
        BinaryPrimitives.WriteUInt32BigEndian(_buffer.GetSpan(4), value);
        _buffer.Advance(4);
        return this;
    }

    public SshWriter U64(ulong value)
    {
        BinaryPrimitives.WriteUInt64BigEndian(_buffer.GetSpan(8), value);
        _buffer.Advance(8);
        return this;
    }

    public SshWriter Raw(ReadOnlySpan<byte> bytes)
    {
        _buffer.Write(bytes);
        return this;
    }

    public SshWriter Bytes(ReadOnlySpan<byte> bytes) => U32(checked((uint)bytes.Length)).Raw(bytes);

    public SshWriter Text(string text) => Bytes(Encoding.UTF8.GetBytes(text));

    /// <summary>A non-negative integer given as unsigned big-endian bytes.</summary>
    public SshWriter Mpint(ReadOnlySpan<byte> unsignedBigEndian)
    {
        var digits = unsignedBigEndian.TrimStart((byte)0);
        if (digits.IsEmpty)
        {
            return U32(0);
        }
        var pad = (digits[0] & 0x80) != 0;
        U32(checked((uint)(digits.Length + (pad ? 1 : 0))));
        if (pad)
        {
            Raw([0]);
        }
        return Raw(digits);
    }

    public byte[] ToArray() => _buffer.WrittenSpan.ToArray();
}

/// <summary>
/// Reads the SSH wire encoding from untrusted bytes: every length is checked against what is left and against the
/// caller's bound before anything is copied, and text must be UTF-8 without control characters.
/// </summary>
public ref struct SshReader(ReadOnlySpan<byte> data)
{
    private ReadOnlySpan<byte> _rest = data;

    public readonly bool AtEnd => _rest.IsEmpty;

    public readonly int Remaining => _rest.Length;

    public readonly ReadOnlySpan<byte> Rest => _rest;

    public uint U32(string what)
    {
        if (_rest.Length < 4)
        {
            throw new SshFormatException($"{what} is cut short");
        }
        var value = BinaryPrimitives.ReadUInt32BigEndian(_rest);
        _rest = _rest[4..];
        return value;
    }

    public ulong U64(string what)
    {
        if (_rest.Length < 8)
        {
            throw new SshFormatException($"{what} is cut short");
        }
        var value = BinaryPrimitives.ReadUInt64BigEndian(_rest);
        _rest = _rest[8..];
        return value;
    }

    public ReadOnlySpan<byte> Bytes(string what, int maxBytes)
    {
        var length = U32(what);
        if (length > maxBytes)
        {
            throw new SshFormatException($"{what} is longer than {maxBytes} bytes");
        }
        if (length > _rest.Length)
        {
            throw new SshFormatException($"{what} is cut short");
        }
        var value = _rest[..(int)length];
        _rest = _rest[(int)length..];
        return value;
    }

    public string Text(string what, int maxBytes)
    {
        var bytes = Bytes(what, maxBytes);
        string text;
        try
        {
            text = StrictUtf8.GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            throw new SshFormatException($"{what} is not UTF-8");
        }
        foreach (var c in text)
        {
            if (char.IsControl(c))
            {
                throw new SshFormatException($"{what} holds a control character");
            }
        }
        return text;
    }

    /// <summary>A non-negative mpint in its shortest form, as unsigned big-endian bytes (empty for zero).</summary>
    public ReadOnlySpan<byte> Mpint(string what, int maxBytes)
    {
        var bytes = Bytes(what, maxBytes + 1);
        if (bytes.IsEmpty)
        {
            return bytes;
        }
        if ((bytes[0] & 0x80) != 0)
        {
            throw new SshFormatException($"{what} is negative");
        }
        if (bytes[0] == 0)
        {
            if (bytes.Length == 1 || (bytes[1] & 0x80) == 0)
            {
                throw new SshFormatException($"{what} has a needless leading zero");
            }
            bytes = bytes[1..];
        }
        if (bytes.Length > maxBytes)
        {
            throw new SshFormatException($"{what} is longer than {maxBytes} bytes");
        }
        return bytes;
    }

    public readonly void EnsureEnd(string what)
    {
        if (!_rest.IsEmpty)
        {
            throw new SshFormatException($"{what} has {_rest.Length} bytes after its end");
        }
    }

    private static readonly UTF8Encoding StrictUtf8 = new(false, throwOnInvalidBytes: true);
}
