using System.Security.Cryptography;

namespace DeviceTrust.Core.Ssh;

/// <summary>The one-line text forms of keys and certificates (<c>type base64 comment</c>) and their fingerprints.</summary>
public static class SshText
{
    public static string Line(string type, ReadOnlySpan<byte> blob, string comment) =>
        comment.Length == 0 ? $"{type} {Convert.ToBase64String(blob)}" : $"{type} {Convert.ToBase64String(blob)} {comment}";

    public static string Fingerprint(ReadOnlySpan<byte> blob) => "SHA256:" + Convert.ToBase64String(SHA256.HashData(blob)).TrimEnd('=');

    /// <summary>Splits a <c>type base64 [comment]</c> line and decodes its blob, bounded by <paramref name="maxBlobBytes"/>.</summary>
    public static (string Type, byte[] Blob) ParseLine(string line, int maxBlobBytes)
    {
        if (line.Length > maxBlobBytes * 2 + 1024)
        {
            throw new SshFormatException("the line is too long");
        }
        var parts = line.Trim().Split((char[]?)[' ', '\t'], 3, StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length < 2)
        {
            throw new SshFormatException("expected \"type base64 [comment]\"");
        }
        var blob = FromBase64(parts[1], maxBlobBytes);
        return (parts[0], blob);
    }

    public static byte[] FromBase64(string text, int maxBytes)
    {
        if (text.Length > (maxBytes + 2) / 3 * 4)
        {
            throw new SshFormatException($"the base64 text decodes to more than {maxBytes} bytes");
        }
        var bytes = new byte[text.Length / 4 * 3 + 3];
        if (!Convert.TryFromBase64String(text, bytes, out var written))
        {
            throw new SshFormatException("the base64 text is not valid base64");
        }
        return bytes[..written];
    }
}
