using System.CommandLine;
using System.Text.Json;
using DeviceTrust.Core.Errors;
using Google.Protobuf;

namespace DeviceTrust.Cli.Dtctl;

/// <summary><c>--format text|json</c>: tables for people, JSON (protobuf JSON mapping) for scripts.</summary>
public static class Formats
{
    public static Option<string> Option() => new("--format", "-o") { Description = "Output format: text or json", DefaultValueFactory = _ => "text" };

    public static bool IsJson(string format) => format switch
    {
        "text" => false,
        "json" => true,
        _ => throw DeviceTrustException.InvalidArgument($"--format \"{format}\" is unknown: use text or json"),
    };

    private static readonly JsonFormatter Formatter = new(JsonFormatter.Settings.Default.WithFormatDefaultValues(true));

    public static string Json(IMessage message) => Indent(Formatter.Format(message));

    public static string Json(IEnumerable<IMessage> messages) => Indent("[" + string.Join(",", messages.Select(m => Formatter.Format(m))) + "]");

    private static string Indent(string json) =>
        JsonSerializer.Serialize(JsonDocument.Parse(json).RootElement, IndentedOptions) + Environment.NewLine;

    private static readonly JsonSerializerOptions IndentedOptions = new() { WriteIndented = true };
}
