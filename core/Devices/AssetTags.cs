using System.Text;

namespace DeviceTrust.Core.Devices;

public static class AssetTags
{
    /// <summary>
    /// The key of the grain that owns an (OS, asset tag) pair. The asset tag comes from the network, and Orleans'
    /// ADO.NET provider passes string grain keys through <c>string.Format</c> when it describes them, so a brace in a
    /// key made every write of that grain fail. Braces and the escape character are percent-encoded: the mapping is
    /// one-to-one, and the identity for every tag without them (stored keys of existing tags do not change).
    /// The other string keys cannot hold braces: user names are restricted to [a-z0-9._@-], token keys are hex,
    /// singletons have fixed names.
    /// </summary>
    public static string Key(OsType os, string assetTag) => $"{os.ToText()}/{Escape(assetTag)}";

    public static string Escape(string text)
    {
        if (text.AsSpan().IndexOfAny("%{}") < 0)
        {
            return text;
        }
        var escaped = new StringBuilder(text.Length + 8);
        foreach (var c in text)
        {
            escaped.Append(c switch
            {
                '%' => "%25",
                '{' => "%7B",
                '}' => "%7D",
                _ => c.ToString(),
            });
        }
        return escaped.ToString();
    }
}
