using System.Text.Json;
using DeviceTrust.Testing;

namespace DeviceTrust.EndToEnd.Tests;

/// <summary>The seed guide's device steps with our commands, through the real gateway, dtctl and dtsh.</summary>
[Collection(SharedGatewayCollection.Name)]
public sealed class DeviceSeedGuideTests(SharedGateway shared)
{
    private static string NewSerial() => "C" + Guid.NewGuid().ToString("N")[..11].ToUpperInvariant();

    private Cli AtDevice(Cli cli, string serial, string osVersion = "12")
    {
        var file = shared.Path($"device-{serial}-{osVersion}.json");
        File.WriteAllText(file, $$"""{ "serialNumber": "{{serial}}", "osVersion": "{{osVersion}}", "modelIdentifier": "TestBook1,1" }""");
        return cli.With("DTSH_DEVICE_DATA", file);
    }

    private static string TokenFrom(string output) =>
        output.Split('\n').Single(l => l.StartsWith("dtsh device enroll --token=", StringComparison.Ordinal))["dtsh device enroll --token=".Length..].Trim();

    [Fact]
    public async Task An_operator_adds_a_device_and_a_user_enrolls_it_and_logs_in_with_it()
    {
        var serial = NewSerial();
        var added = (await shared.Admin.Dtctl("devices", "add", "--os", "linux", "--asset-tag", serial, "--enroll", "--enroll-ttl", "30m")).Succeeded().StdOut;
        Assert.Contains($"Device {serial}/linux added to the inventory", added);
        Assert.Contains("The enrollment token: ", added);
        Assert.Contains("This token will expire in 30m0s.", added);
        Assert.Contains($"Run the command below on device \"{serial}\" to enroll it:", added);

        var (name, user, password) = await shared.NewUserAsync("access");
        var device = AtDevice(user, serial);
        (await device.Dtsh("device", "enroll", "--token=" + TokenFrom(added))).FailedWith("pass --software-key");
        Assert.Contains($"Device \"{serial}\"/linux enrolled", (await device.Dtsh("device", "enroll", "--token=" + TokenFrom(added), "--software-key")).Succeeded().StdOut);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(user.Home, "device", "key.pem")));

        var status = (await device.DtshWithInput(password + "\n", "login", "--user", name)).Succeeded().StdOut;
        Assert.Matches($"Extensions: +device-id=[0-9a-f-]{{36}}, device-asset-tag={serial}, device-credential-id=[0-9a-f-]{{36}}", status);
        Assert.Contains("device-asset-tag=" + serial, (await device.Dtsh("status")).Succeeded().StdOut);

        Assert.Equal(serial, (await device.Dtsh("device", "asset-tag")).Succeeded().StdOut.Trim());
        using (var collected = JsonDocument.Parse((await device.Dtsh("device", "collect")).Succeeded().StdOut))
        {
            Assert.Equal(serial, collected.RootElement.GetProperty("serialNumber").GetString());
            Assert.Equal("OS_TYPE_LINUX", collected.RootElement.GetProperty("osType").GetString());
        }
        Assert.Contains("Type:          software (attestation: unspecified)", (await device.Dtsh("device", "keyget")).Succeeded().StdOut);

        var list = (await shared.Admin.Dtctl("devices", "ls")).Succeeded().StdOut;
        Assert.Matches($@"{serial}\s+linux\s+API\s+enrolled\s+{name}\s+[0-9a-f-]{{36}}", list);
        Assert.Contains("Enroll Status: enrolled", (await shared.Admin.Dtctl("devices", "get", "--asset-tag", serial)).Succeeded().StdOut);

        // -o json: one event per line (JSON lines), as SIEM pipelines read them
        var audit = (await shared.Admin.Dtctl("audit", "ls", "--since", "1h", "--type", "device.enroll", "-o", "json")).Succeeded().StdOut;
        var events = audit.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => JsonDocument.Parse(line).RootElement).ToList();
        Assert.Contains(events, e =>
            e.GetProperty("assetTag").GetString() == serial && e.GetProperty("success").GetBoolean() && e.GetProperty("user").GetString() == name
            && e.GetProperty("details").GetProperty("token_created_by").GetString() == "admin");
    }

    [Fact]
    public async Task An_unenrolled_device_logs_in_without_device_extensions_and_the_audit_says_why()
    {
        var serial = NewSerial();
        var added = (await shared.Admin.Dtctl("devices", "add", "--os", "linux", "--asset-tag", serial, "--enroll")).Succeeded().StdOut;
        var (name, user, password) = await shared.NewUserAsync("access");
        var device = AtDevice(user, serial);
        (await device.Dtsh("device", "enroll", "--token=" + TokenFrom(added), "--software-key")).Succeeded();
        (await shared.Admin.Dtctl("devices", "unenroll", "--asset-tag", serial)).Succeeded();
        var login = (await device.DtshWithInput(password + "\n", "login", "--user", name)).Succeeded();
        Assert.Contains("WARNING: device authentication failed", login.StdErr);
        Assert.Contains("Extensions:         (none)", login.StdOut);
        var audit = (await shared.Admin.Dtctl("audit", "ls", "--type", "device.authenticate")).Succeeded().StdOut;
        Assert.Matches($@"device.authenticate\s+failure\s+{name}\s+{serial}.*device not enrolled", audit);
    }

    [Fact]
    public async Task A_device_admin_registers_and_enrolls_the_current_device_in_one_step()
    {
        var serial = NewSerial();
        var (_, user, _) = await shared.NewUserAsync("device-admin");
        var device = AtDevice(user, serial);
        Assert.Contains($"Device \"{serial}\"/linux registered and enrolled",
            (await device.Dtsh("device", "enroll", "--current-device", "--software-key")).Succeeded().StdOut);
        (await shared.Admin.Dtctl("devices", "rm", "--asset-tag", serial)).Succeeded();
        (await shared.Admin.Dtctl("devices", "get", "--asset-tag", serial)).FailedWith($"device {serial} not found");
    }

    [Fact]
    public async Task A_user_without_device_roles_cannot_self_enroll()
    {
        var (name, user, _) = await shared.NewUserAsync("access");
        (await AtDevice(user, NewSerial()).Dtsh("device", "enroll", "--current-device", "--software-key"))
            .FailedWith($"access denied: user \"{name}\" may not read device");
    }

    [Fact]
    public async Task A_duplicate_device_is_refused()
    {
        var serial = NewSerial();
        (await shared.Admin.Dtctl("devices", "add", "--os", "macos", "--asset-tag", serial)).Succeeded();
        (await shared.Admin.Dtctl("devices", "add", "--os", "macos", "--asset-tag", serial)).FailedWith($"device {serial}/macos is already in the inventory");
        (await shared.Admin.Dtctl("devices", "add", "--os", "linux", "--asset-tag", serial)).Succeeded();
        (await shared.Admin.Dtctl("devices", "get", "--asset-tag", serial)).FailedWith("use --device-id");
    }

    [Fact]
    public async Task A_new_token_for_a_known_device_enrolls_it()
    {
        var serial = NewSerial();
        (await shared.Admin.Dtctl("devices", "add", "--os", "linux", "--asset-tag", serial)).Succeeded();
        var minted = (await shared.Admin.Dtctl("devices", "enroll", "--asset-tag", serial, "--ttl", "10m")).Succeeded().StdOut;
        Assert.Contains("This token will expire in 10m0s.", minted);
        var (_, user, _) = await shared.NewUserAsync("access");
        (await AtDevice(user, serial).Dtsh("device", "enroll", "--token=" + TokenFrom(minted), "--software-key")).Succeeded();
    }
}
