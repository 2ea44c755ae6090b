using System.Globalization;
using System.Text;

namespace DeviceTrust.Client.Output;

/// <summary>Durations as Go prints them ("11h59m0s", "30m0s"), which is how tsh/tctl users read them.</summary>
public static class Durations
{
    public static string Format(TimeSpan span)
    {
        if (span <= TimeSpan.Zero)
        {
            return "0s";
        }
        var text = new StringBuilder();
        var hours = (long)span.TotalHours;
        if (hours > 0)
        {
            text.Append(CultureInfo.InvariantCulture, $"{hours}h");
        }
        if (hours > 0 || span.Minutes > 0)
        {
            text.Append(CultureInfo.InvariantCulture, $"{span.Minutes}m");
        }
        text.Append(CultureInfo.InvariantCulture, $"{span.Seconds}s");
        return text.ToString();
    }

    /// <summary>Parses "90s", "30m", "12h", "1h30m", "7d" (or a .NET TimeSpan like 01:30:00).</summary>
    public static bool TryParse(string text, out TimeSpan span)
    {
        span = TimeSpan.Zero;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }
        if (text.Contains(':', StringComparison.Ordinal))
        {
            return TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out span) && span > TimeSpan.Zero;
        }
        var number = 0L;
        var digits = false;
        foreach (var c in text)
        {
            if (char.IsAsciiDigit(c))
            {
                number = checked(number * 10 + (c - '0'));
                digits = true;
                continue;
            }
            if (!digits)
            {
                return false;
            }
            TimeSpan unit;
            switch (c)
            {
                case 's': unit = TimeSpan.FromSeconds(1); break;
                case 'm': unit = TimeSpan.FromMinutes(1); break;
                case 'h': unit = TimeSpan.FromHours(1); break;
                case 'd': unit = TimeSpan.FromDays(1); break;
                default: return false;
            }
            span += unit * number;
            number = 0;
            digits = false;
        }
        return !digits && span > TimeSpan.Zero;
    }
}
