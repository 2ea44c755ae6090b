namespace DeviceTrust.Testing;

/// <summary>Reads what a .NET console logger wrote, for a test to show when it fails.</summary>
public static class ConsoleLog
{
    /// <summary>
    /// The <c>fail:</c> and <c>crit:</c> entries, each with its indented message and exception lines: the first
    /// <paramref name="maxEntries"/>, or the last ones.
    /// </summary>
    public static string Errors(string output, int maxEntries, bool last)
    {
        var entries = new List<string>();
        List<string>? current = null;
        foreach (var line in output.Split('\n'))
        {
            if (line.StartsWith("fail: ", StringComparison.Ordinal) || line.StartsWith("crit: ", StringComparison.Ordinal))
            {
                current = [line];
                entries.Add("");
            }
            else if (current is not null && line.StartsWith(' '))
            {
                current.Add(line);
            }
            else
            {
                current = null;
            }
            if (current is not null)
            {
                entries[^1] = string.Join('\n', current.Take(40));
            }
        }
        return string.Join('\n', last ? entries.TakeLast(maxEntries) : entries.Take(maxEntries));
    }
}
