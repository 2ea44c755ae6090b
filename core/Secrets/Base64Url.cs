namespace DeviceTrust.Core.Secrets;

/// <summary>RFC 4648 §5 base64url without padding.</summary>
public static class Base64Url
{
    public static string Encode(ReadOnlySpan<byte> data) => System.Buffers.Text.Base64Url.EncodeToString(data);

    public static bool TryDecode(string text, out byte[] data)
    {
        try
        {
            data = System.Buffers.Text.Base64Url.DecodeFromChars(text);
            return true;
        }
        catch (FormatException)
        {
            data = [];
            return false;
        }
    }
}
