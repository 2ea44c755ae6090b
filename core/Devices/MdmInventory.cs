using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using CsvHelper;
using DeviceTrust.Core.Errors;

namespace DeviceTrust.Core.Devices;

/// <summary>One device of an MDM export, checked field by field, with the line of the file it starts on.</summary>
public sealed record MdmDevice(
    int Line,
    OsType OsType,
    string SerialNumber,
    string ModelIdentifier,
    string OsVersion,
    string OsBuild,
    string OsBuildSupplemental,
    IReadOnlyList<string> OsUsernames,
    string ExternalId,
    string AssignedUser);

public enum MdmFileFormat
{
    /// <summary>DeviceTrust's own shape: <c>{"devices": [{"os": …, "serial_number": …, …}]}</c> (docs/mdm-sync.md).</summary>
    Json,

    /// <summary>A Jamf Pro computer search exported as CSV.</summary>
    JamfCsv,

    /// <summary>Intune's "Export" of All devices (CSV).</summary>
    IntuneCsv,
}

/// <summary>
/// Reads an MDM inventory export — the JSON shape, or the CSV of Jamf or Intune — into devices, all or nothing: a
/// file with any malformed row is refused with every problem found (up to <see cref="MaxProblems"/>), each with its
/// line, so nothing of a broken export is ever synced.
/// </summary>
public static class MdmInventory
{
    public const int MaxDevices = 200_000;
    public const long MaxBytes = 256L * 1024 * 1024;
    public const int MaxProblems = 20;
    public const int MaxUsernames = 64;

    /// <summary>The CSV headers each field is read from (compared without case or surrounding spaces), per format.</summary>
    public static readonly IReadOnlyDictionary<MdmFileFormat, CsvColumns> Columns = new Dictionary<MdmFileFormat, CsvColumns>
    {
        [MdmFileFormat.JamfCsv] = new(
            Serial: ["Serial Number"],
            Os: ["Operating System", "Platform"],
            DefaultOs: OsType.MacOS,
            Model: ["Model Identifier"],
            OsVersion: ["Operating System Version"],
            OsBuild: ["Operating System Build"],
            OsBuildSupplemental: ["Operating System Rapid Security Response", "Rapid Security Response"],
            Usernames: ["Local User Accounts", "Local Accounts"],
            ExternalId: ["Jamf Pro Computer ID", "Computer ID", "ID"],
            AssignedUser: ["Username", "Email Address"]),
        [MdmFileFormat.IntuneCsv] = new(
            Serial: ["Serial number"],
            Os: ["OS"],
            DefaultOs: null,
            Model: ["Model"],
            OsVersion: ["OS version"],
            OsBuild: [],
            OsBuildSupplemental: [],
            Usernames: [],
            ExternalId: ["Device ID"],
            AssignedUser: ["Primary user UPN", "Primary user email address"]),
    };

    /// <summary>
    /// The headers of one CSV export. <paramref name="DefaultOs"/> is the OS of rows without an OS column (Jamf
    /// manages Macs); usernames are one cell, separated by commas, semicolons or spaces.
    /// </summary>
    public sealed record CsvColumns(string[] Serial, string[] Os, OsType? DefaultOs, string[] Model, string[] OsVersion, string[] OsBuild,
        string[] OsBuildSupplemental, string[] Usernames, string[] ExternalId, string[] AssignedUser);

    public static MdmFileFormat FormatOf(string? format, string path) => (format ?? "").ToLowerInvariant() switch
    {
        "json" => MdmFileFormat.Json,
        "jamf-csv" => MdmFileFormat.JamfCsv,
        "intune-csv" => MdmFileFormat.IntuneCsv,
        "" => throw DeviceTrustException.InvalidArgument($"say what {Path.GetFileName(path)} holds: --format json, jamf-csv or intune-csv"),
        var other => throw DeviceTrustException.InvalidArgument($"unknown format \"{other}\": use json, jamf-csv or intune-csv"),
    };

    public static IReadOnlyList<MdmDevice> Parse(byte[] file, MdmFileFormat format)
    {
        if (file.LongLength > MaxBytes)
        {
            throw DeviceTrustException.InvalidArgument($"the file is larger than {MaxBytes / 1024 / 1024} MiB");
        }
        var problems = new List<string>();
        var devices = format == MdmFileFormat.Json ? ParseJson(file, problems) : ParseCsv(file, Columns[format], problems);
        if (problems.Count == 0)
        {
            var seen = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var device in devices)
            {
                if (!seen.TryAdd(AssetTags.Key(device.OsType, device.SerialNumber), device.Line))
                {
                    Add(problems, device.Line, $"serial number {device.SerialNumber} ({device.OsType.ToText()}) is already on line {seen[AssetTags.Key(device.OsType, device.SerialNumber)]}");
                }
            }
        }
        if (problems.Count > 0)
        {
            var more = problems.Count > MaxProblems ? $"\n(and more: the first {MaxProblems} are shown)" : "";
            throw DeviceTrustException.InvalidArgument(
                $"the inventory file has {(problems.Count > MaxProblems ? "more than " + MaxProblems : problems.Count.ToString(System.Globalization.CultureInfo.InvariantCulture))} problem(s); nothing was synced:\n"
                + string.Join('\n', problems.Take(MaxProblems)) + more);
        }
        return devices;
    }

    private static void Add(List<string> problems, long line, string problem)
    {
        if (problems.Count <= MaxProblems)
        {
            problems.Add($"line {line}: {problem}");
        }
    }

    /// <summary>A device from its fields as read; a bad field adds a problem and the device is left out.</summary>
    private static MdmDevice? Device(List<string> problems, int line, string? os, OsType? defaultOs, string? serial, string? model, string? osVersion,
        string? osBuild, string? supplemental, IReadOnlyList<string>? usernames, string? externalId, string? assignedUser)
    {
        try
        {
            var osType = string.IsNullOrWhiteSpace(os)
                ? defaultOs ?? throw DeviceTrustException.InvalidArgument("os is required (linux, macos or windows)")
                : OsOf(os.Trim());
            var names = usernames ?? [];
            if (names.Count > MaxUsernames)
            {
                throw DeviceTrustException.InvalidArgument($"more than {MaxUsernames} usernames");
            }
            return new MdmDevice(line, osType, DeviceFields.AssetTag(serial?.Trim()), Field(model, "model_identifier"), Field(osVersion, "os_version"),
                Field(osBuild, "os_build"), Field(supplemental, "os_build_supplemental"), names.Select(n => Field(n, "os_usernames")).Where(n => n.Length > 0).ToList(),
                Field(externalId, "external_id"), Field(assignedUser, "assigned_user"));
        }
        catch (DeviceTrustException e)
        {
            Add(problems, line, e.Message.Replace("asset_tag", "serial_number", StringComparison.Ordinal));
            return null;
        }
    }

    private static string Field(string? value, string name) => DeviceFields.Text(value?.Trim(), name);

    /// <summary>The OS names MDMs write: "macOS", "Mac OS X", "Windows", "Windows 11 Enterprise", "Linux", "Ubuntu".</summary>
    private static OsType OsOf(string os)
    {
        var lower = os.ToLowerInvariant();
        return lower switch
        {
            _ when lower.StartsWith("mac", StringComparison.Ordinal) || lower.StartsWith("os x", StringComparison.Ordinal) || lower == "darwin" => OsType.MacOS,
            _ when lower.StartsWith("windows", StringComparison.Ordinal) => OsType.Windows,
            _ when lower.StartsWith("linux", StringComparison.Ordinal) || lower.StartsWith("ubuntu", StringComparison.Ordinal) => OsType.Linux,
            _ => throw DeviceTrustException.InvalidArgument($"OS \"{(os.Length > 40 ? os[..40] + "…" : os)}\" is not linux, macos or windows"),
        };
    }

    private sealed class JsonDevice
    {
        [JsonPropertyName("os")] public string? Os { get; set; }
        [JsonPropertyName("serial_number")] public string? SerialNumber { get; set; }
        [JsonPropertyName("model_identifier")] public string? ModelIdentifier { get; set; }
        [JsonPropertyName("os_version")] public string? OsVersion { get; set; }
        [JsonPropertyName("os_build")] public string? OsBuild { get; set; }
        [JsonPropertyName("os_build_supplemental")] public string? OsBuildSupplemental { get; set; }
        [JsonPropertyName("os_usernames")] public List<string>? OsUsernames { get; set; }
        [JsonPropertyName("external_id")] public string? ExternalId { get; set; }
        [JsonPropertyName("assigned_user")] public string? AssignedUser { get; set; }
    }

    private static readonly JsonSerializerOptions Strict = new()
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        MaxDepth = 8,
    };

    private static List<MdmDevice> ParseJson(byte[] file, List<string> problems)
    {
        var devices = new List<MdmDevice>();
        var lines = new LineCounter(file);
        var reader = new Utf8JsonReader(file, new JsonReaderOptions { MaxDepth = 8, CommentHandling = JsonCommentHandling.Disallow });
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                Add(problems, 1, "the file must be a JSON object: {\"devices\": [ … ]}");
                return devices;
            }
            var sawDevices = false;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var line = lines.At(reader.TokenStartIndex);
                if (!reader.ValueTextEquals("devices"u8) || sawDevices)
                {
                    Add(problems, line, sawDevices ? "\"devices\" appears twice" : $"unknown property \"{reader.GetString()}\" (the file holds \"devices\" only)");
                    return devices;
                }
                sawDevices = true;
                if (!reader.Read() || reader.TokenType != JsonTokenType.StartArray)
                {
                    Add(problems, line, "\"devices\" must be an array");
                    return devices;
                }
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    var at = lines.At(reader.TokenStartIndex);
                    if (reader.TokenType != JsonTokenType.StartObject)
                    {
                        Add(problems, at, "each device must be an object");
                        reader.Skip();
                        continue;
                    }
                    if (devices.Count + problems.Count >= MaxDevices)
                    {
                        Add(problems, at, $"more than {MaxDevices} devices: split the export");
                        return devices;
                    }
                    JsonDevice? item;
                    try
                    {
                        item = JsonSerializer.Deserialize<JsonDevice>(ref reader, Strict);
                    }
                    catch (JsonException e)
                    {
                        Add(problems, at, Describe(e));
                        return devices;
                    }
                    if (item is not null && Device(problems, at, item.Os, null, item.SerialNumber, item.ModelIdentifier, item.OsVersion, item.OsBuild,
                            item.OsBuildSupplemental, item.OsUsernames, item.ExternalId, item.AssignedUser) is { } device)
                    {
                        devices.Add(device);
                    }
                }
            }
            if (!sawDevices)
            {
                Add(problems, 1, "the file has no \"devices\" array");
            }
        }
        catch (JsonException e)
        {
            Add(problems, (e.LineNumber ?? 0) + 1, Describe(e));
        }
        return devices;
    }

    /// <summary>The reason of a JSON error without its position (the line is given apart) or the path .NET adds.</summary>
    private static string Describe(JsonException e)
    {
        var message = e.Message;
        var cut = message.IndexOf(" Path:", StringComparison.Ordinal);
        message = cut > 0 ? message[..cut] : message;
        cut = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
        return "not valid JSON: " + (cut > 0 ? message[..cut] : message).TrimEnd('.', ' ');
    }

    private static List<MdmDevice> ParseCsv(byte[] file, CsvColumns columns, List<string> problems)
    {
        var devices = new List<MdmDevice>();
        var options = new CsvReaderOptions
        {
            HasHeader = true,
            TrackLineNumbers = true,
            SkipEmptyLines = true,
            MalformedData = CsvMalformedDataHandling.Throw,
            FieldCountMismatch = CsvFieldCountHandling.Throw,
            MaxRecordSize = 64 * 1024,
        };
        try
        {
            // Excel's exports start with a byte order mark.
            var start = file.AsSpan().StartsWith("\uFEFF"u8) ? 3 : 0;
            using var reader = CsvReader.Create(file.AsMemory(start), options);
            reader.ReadHeader();
            var headers = reader.Headers.Select(h => h.Trim()).ToList();
            int? Index(string[] names) =>
                names.Select(n => headers.FindIndex(h => string.Equals(h, n, StringComparison.OrdinalIgnoreCase))).Where(i => i >= 0).Cast<int?>().FirstOrDefault();
            var serial = Index(columns.Serial);
            if (serial is null)
            {
                Add(problems, 1, $"no \"{columns.Serial[0]}\" column (the header has: {string.Join(", ", headers.Take(30))})");
                return devices;
            }
            var (os, model, version, build, supplemental, usernames, external, user) = (Index(columns.Os), Index(columns.Model), Index(columns.OsVersion),
                Index(columns.OsBuild), Index(columns.OsBuildSupplemental), Index(columns.Usernames), Index(columns.ExternalId), Index(columns.AssignedUser));
            string? Cell(int? index) => index is { } i ? reader.GetString(i) : null;
            while (reader.Read())
            {
                var line = (int)reader.LineNumber;
                if (devices.Count + problems.Count >= MaxDevices)
                {
                    Add(problems, line, $"more than {MaxDevices} devices: split the export");
                    return devices;
                }
                var names = Cell(usernames)?.Split([',', ';', ' '], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                if (Device(problems, line, Cell(os), columns.DefaultOs, Cell(serial), Cell(model), Cell(version), Cell(build), Cell(supplemental), names,
                        Cell(external), Cell(user)) is { } device)
                {
                    devices.Add(device);
                }
            }
        }
        catch (CsvFormatException e)
        {
            var message = e.Message;
            var line = System.Text.RegularExpressions.Regex.Match(message, @"\(line (\d+)\)");
            Add(problems, line.Success ? long.Parse(line.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : 0,
                "not valid CSV: " + System.Text.RegularExpressions.Regex.Replace(message, @"^.*?\(line \d+\)(:)?\s*", ""));
        }
        catch (DecoderFallbackException)
        {
            Add(problems, 0, "the file is not UTF-8 text");
        }
        return devices;
    }

    /// <summary>Line numbers of byte offsets met in increasing order (the JSON reader only gives offsets).</summary>
    private sealed class LineCounter(byte[] text)
    {
        private long _offset;
        private int _line = 1;

        public int At(long offset)
        {
            for (; _offset < offset && _offset < text.LongLength; _offset++)
            {
                if (text[_offset] == (byte)'\n')
                {
                    _line++;
                }
            }
            return _line;
        }
    }
}
