using System.Text;
using DeviceTrust.Core.Devices;
using DeviceTrust.Core.Errors;

namespace DeviceTrust.Core.Tests;

/// <summary>The MDM export parsers: the fields each format maps, and every malformed file refused whole, with its lines.</summary>
public sealed class MdmInventoryTests
{
    private static IReadOnlyList<MdmDevice> Parse(string text, MdmFileFormat format) => MdmInventory.Parse(Encoding.UTF8.GetBytes(text), format);

    private static string Refusal(string text, MdmFileFormat format) =>
        Assert.Throws<DeviceTrustException>(() => Parse(text, format)).Message;

    [Fact]
    public void The_json_shape_maps_every_field_and_gives_each_device_its_line()
    {
        var devices = Parse(
            """
            {
              "devices": [
                {"os": "macos", "serial_number": "C02A", "model_identifier": "Mac14,2", "os_version": "14.5", "os_build": "23F79",
                 "os_build_supplemental": "23F79a", "os_usernames": ["alice", "admin"], "external_id": "17", "assigned_user": "alice@example.com"},
                {"os": "Windows", "serial_number": " PF3B "}
              ]
            }
            """, MdmFileFormat.Json);

        Assert.Equal(2, devices.Count);
        var expected = new MdmDevice(3, OsType.MacOS, "C02A", "Mac14,2", "14.5", "23F79", "23F79a", [], "17", "alice@example.com");
        Assert.Equal(expected, devices[0] with { OsUsernames = expected.OsUsernames });
        Assert.Equal(["alice", "admin"], devices[0].OsUsernames);
        Assert.Equal((5, OsType.Windows, "PF3B", ""), (devices[1].Line, devices[1].OsType, devices[1].SerialNumber, devices[1].ModelIdentifier));
    }

    [Fact]
    public void Json_problems_are_all_reported_with_their_lines_and_nothing_is_returned()
    {
        var message = Refusal(
            """
            {"devices": [
              {"os": "macos", "serial_number": "A1"},
              {"os": "beos", "serial_number": "A2"},
              {"os": "macos"},
              {"os": "macos", "serial_number": "A1"}
            ]}
            """, MdmFileFormat.Json);

        Assert.Equal(
            "the inventory file has 2 problem(s); nothing was synced:\nline 3: OS \"beos\" is not linux, macos or windows\nline 4: serial_number is required",
            message);
    }

    [Fact]
    public void A_duplicate_serial_is_named_with_both_lines()
    {
        Assert.Equal("the inventory file has 1 problem(s); nothing was synced:\nline 3: serial number A1 (macos) is already on line 2",
            Refusal("{\"devices\": [\n{\"os\": \"macos\", \"serial_number\": \"A1\"},\n{\"os\": \"macOS\", \"serial_number\": \"A1\"}]}", MdmFileFormat.Json));
    }

    [Theory]
    [InlineData("{\"devices\": [{\"os\": \"macos\", \"serial_number\": \"A1\", \"colour\": \"red\"}]}", "line 1: not valid JSON: The JSON property 'colour' could not be mapped")]
    [InlineData("{\"devices\": [\n{\"os\": \"macos\",\n \"serial_number\": \"A1\"", "line 2: not valid JSON")]
    [InlineData("[]", "line 1: the file must be a JSON object")]
    [InlineData("{\"computers\": []}", "line 1: unknown property \"computers\"")]
    [InlineData("{}", "line 1: the file has no \"devices\" array")]
    [InlineData("{\"devices\": [{\"os\": \"macos\", \"serial_number\": \"A 1\"}]}", "line 1: serial_number may hold printable ASCII only, without spaces")]
    [InlineData("{\"devices\": [{\"os\": \"macos\", \"serial_number\": \"A1\", \"os_version\": \"14\\u0007\"}]}", "line 1: os_version contains control characters")]
    public void A_malformed_json_file_is_refused_with_the_line_of_its_problem(string text, string problem)
    {
        Assert.Contains(problem, Refusal(text, MdmFileFormat.Json));
    }

    [Fact]
    public void Jamf_csv_columns_map_to_the_profile_and_macOS_is_the_default_OS()
    {
        var devices = Parse(
            "\uFEFFComputer Name,Serial Number,Model Identifier,Operating System Version,Operating System Build,Username,Jamf Pro Computer ID,Local User Accounts\r\n"
            + "mac-1,C02A,\"Mac14,2\",14.5,23F79,alice,101,\"alice, admin\"\r\n"
            + "\r\n"
            + "mac-2,C02B,MacBookAir10.1,14.4.1,23E224,,102,\r\n",
            MdmFileFormat.JamfCsv);

        Assert.Equal(2, devices.Count);
        var first = devices[0];
        Assert.Equal((2, OsType.MacOS, "C02A", "Mac14,2", "14.5", "23F79", "alice", "101"),
            (first.Line, first.OsType, first.SerialNumber, first.ModelIdentifier, first.OsVersion, first.OsBuild, first.AssignedUser, first.ExternalId));
        Assert.Equal(["alice", "admin"], first.OsUsernames);
        Assert.Equal((4, "C02B", "MacBookAir10.1", ""), (devices[1].Line, devices[1].SerialNumber, devices[1].ModelIdentifier, devices[1].AssignedUser));
    }

    [Fact]
    public void Intune_csv_takes_its_OS_per_row()
    {
        var devices = Parse(
            "Device name,Managed by,Ownership,OS,OS version,Serial number,Model,Primary user UPN,Device ID\n"
            + "PC-1,Intune,Corporate,Windows,10.0.22631.3296,PF3B,Latitude 7440,bob@example.com,0f1e\n"
            + "MAC-2,Intune,Corporate,macOS,14.5 (23F79),C02C,\"MacBookPro18,3\",carol@example.com,1a2b\n",
            MdmFileFormat.IntuneCsv);

        Assert.Equal([(OsType.Windows, "PF3B", "10.0.22631.3296", "Latitude 7440", "bob@example.com", "0f1e"),
                (OsType.MacOS, "C02C", "14.5 (23F79)", "MacBookPro18,3", "carol@example.com", "1a2b")],
            devices.Select(d => (d.OsType, d.SerialNumber, d.OsVersion, d.ModelIdentifier, d.AssignedUser, d.ExternalId)));
    }

    [Theory]
    [InlineData("Serial Number,Model Identifier\nA1,Mac14\nA2,Mac14,extra\n", "line 3: not valid CSV: has 3 fields but 2 were expected")]
    [InlineData("Serial Number,Model Identifier\nA1,\"Mac14\nA2,x\n", "line 2: not valid CSV: a quoted field that is never closed")]
    [InlineData("Computer Name,Model Identifier\nmac-1,Mac14\n", "line 1: no \"Serial Number\" column (the header has: Computer Name, Model Identifier)")]
    [InlineData("Serial Number,Operating System\nA1,Solaris\n", "line 2: OS \"Solaris\" is not linux, macos or windows")]
    [InlineData("Serial Number,Model Identifier\n,Mac14\n", "line 2: serial_number is required")]
    public void A_malformed_jamf_csv_is_refused_with_the_line_of_its_problem(string text, string problem)
    {
        Assert.Contains(problem, Refusal(text, MdmFileFormat.JamfCsv));
    }

    [Fact]
    public void An_intune_row_without_an_OS_is_refused_since_Intune_manages_several()
    {
        Assert.Contains("line 2: os is required (linux, macos or windows)", Refusal("Serial number,OS\nPF3B,\n", MdmFileFormat.IntuneCsv));
    }

    [Fact]
    public void Many_problems_are_cut_at_the_limit_and_say_so()
    {
        var rows = string.Concat(Enumerable.Range(0, 50).Select(i => $"A{i},Plan9\n"));
        var message = Refusal("Serial Number,Operating System\n" + rows, MdmFileFormat.JamfCsv);

        Assert.StartsWith($"the inventory file has more than {MdmInventory.MaxProblems} problem(s); nothing was synced:\nline 2: ", message);
        Assert.Equal(MdmInventory.MaxProblems, message.Split('\n').Count(l => l.StartsWith("line ", StringComparison.Ordinal)));
        Assert.EndsWith($"(and more: the first {MdmInventory.MaxProblems} are shown)", message);
    }

    [Theory]
    [InlineData("json", "x.json", MdmFileFormat.Json)]
    [InlineData("JAMF-CSV", "x.txt", MdmFileFormat.JamfCsv)]
    [InlineData("intune-csv", "x.csv", MdmFileFormat.IntuneCsv)]
    public void Formats_are_named(string name, string path, MdmFileFormat format) => Assert.Equal(format, MdmInventory.FormatOf(name, path));
}
