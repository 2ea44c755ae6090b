using System.Text.RegularExpressions;
using DeviceTrust.Client.Connection;
using DeviceTrust.Client.Profiles;
using DeviceTrust.Proto.V1;
using DeviceTrust.Testing;
using Grpc.Core;
using Grpc.Net.Client;

namespace DeviceTrust.EndToEnd.Tests;

/// <summary>A gateway of its own: these tests turn the cluster's auto-enrollment on and off.</summary>
public sealed class AutoEnrollGateway() : GatewayCluster("dt-e2e-auto", GatewayProcess.HighLimits);

/// <summary>
/// Auto-enrollment through the real dtsh and gateway: a device of the inventory whose reported data matches its MDM
/// profile enrolls without a token, for a user with the device: enroll verb, while the cluster allows it. Every other
/// case is refused with one short message, and audited with the check that failed.
/// </summary>
public sealed class AutoEnrollmentTests(AutoEnrollGateway cluster) : IClassFixture<AutoEnrollGateway>, IAsyncLifetime
{
    private const string Model = "ThinkPad X1,21HM";
    private const string Version = "12";
    private const string Build = "12.5.0-28";
    private const string Supplemental = "12.5.0-28a";
    private readonly GrpcChannel _admin = GatewayChannel.ForProfile(new ProfileStore(cluster.Admin.Home).Load()!);

    private DeviceTrustService.DeviceTrustServiceClient Devices => new(_admin);

    public async Task InitializeAsync() => (await cluster.Admin.Dtctl("config", "set", "auto-enroll", "true")).Succeeded();

    public Task DisposeAsync()
    {
        _admin.Dispose();
        return Task.CompletedTask;
    }

    private static string? Detail(AuditEvent e, string key) =>
        e.Details.Length > 0 && System.Text.Json.JsonDocument.Parse(e.Details).RootElement.TryGetProperty(key, out var value) ? value.ToString() : null;

    private static string NewSerial() => "AE" + Guid.NewGuid().ToString("N")[..10].ToUpperInvariant();

    /// <summary>A device of the inventory with the MDM profile an MDM sync would give it (set here with dtctl).</summary>
    private async Task<Device> InInventoryAsync(string serial)
    {
        (await cluster.Admin.Dtctl("devices", "add", "--os", "linux", "--asset-tag", serial)).Succeeded();
        var set = (await cluster.Admin.Dtctl("devices", "update", "--asset-tag", serial, "--model", Model, "--os-version", Version, "--os-build", Build,
            "--os-build-supplemental", Supplemental)).Succeeded();
        Assert.Contains($"MDM profile: model {Model}, OS {Version} build {Build} or {Supplemental}", set.StdOut);
        var device = (await Devices.FindDevicesAsync(new FindDevicesRequest { IdOrTag = serial })).Devices.Single();
        Assert.Equal((Model, Version, Build, Supplemental),
            (device.Profile.ModelIdentifier, device.Profile.OsVersion, device.Profile.OsBuild, device.Profile.OsBuildSupplemental));
        return device;
    }

    [Fact]
    public async Task Dtctl_devices_diff_shows_the_profile_beside_what_the_device_collected_as_the_gateway_judges_it()
    {
        var serial = NewSerial();
        await InInventoryAsync(serial);
        var (_, cli, _) = await cluster.NewUserAsync("access");
        // What the person at the device sends the administrator: dtsh device collect, saved to a file.
        var collected = cluster.Path($"collected-{serial}.json");
        await File.WriteAllTextAsync(collected, (await AtDevice(cli, serial, version: "11").Dtsh("device", "collect")).Succeeded().StdOut);

        var diff = (await cluster.Admin.Dtctl("devices", "diff", serial, "--collected", collected)).Succeeded().StdOut.Split('\n');

        Assert.Equal($"Device {serial}/linux (source API), not enrolled", diff[0]);
        Assert.Single(diff, l => l.StartsWith('✗'));
        Assert.Matches(@"^✗\s+OS version\s+12\s+11\s*$", diff.Single(l => l.StartsWith('✗')));
        Assert.Matches($@"^\s+OS build\s+{Regex.Escape(Build)} or {Regex.Escape(Supplemental)}\s+{Regex.Escape(Build)}\s*$", diff.Single(l => l.Contains("OS build")));
        Assert.Contains("Auto-enrollment: refused, OS version differs: the MDM says \"12\", the device \"11\".", diff);

        var broken = cluster.Path($"broken-{serial}.json");
        await File.WriteAllTextAsync(broken, """{ "serialNumber": "X", "colour": "blue" }""");
        (await cluster.Admin.Dtctl("devices", "diff", serial, "--collected", broken)).FailedWith($"{broken} is not device data as dtsh device collect prints it");
    }

    private Cli AtDevice(Cli cli, string serial, string model = Model, string version = Version, string build = Build)
    {
        var file = cluster.Path($"auto-{serial}-{Guid.NewGuid():N}.json");
        File.WriteAllText(file, $$"""{ "serialNumber": "{{serial}}", "modelIdentifier": "{{model}}", "osVersion": "{{version}}", "osBuild": "{{build}}" }""");
        return cli.With("DTSH_DEVICE_DATA", file);
    }

    /// <summary>The refusal as the person and the audit log see it, and the device still not enrolled.</summary>
    private async Task RefusedAsync(Cli cli, string serial, string said, string audited)
    {
        var before = await AuditTrail.EventsAsync(_admin, "device.enroll");
        var device = (await Devices.FindDevicesAsync(new FindDevicesRequest { IdOrTag = serial })).Devices.SingleOrDefault();
        (await cli.Dtsh("device", "enroll", "--auto", "--software-key")).FailedWith(said);
        var refusal = await AuditTrail.LastAsync(_admin, "device.enroll", e => !e.Success && e.Message == audited);
        AuditTrail.IsRefusal(refusal, StatusCode.PermissionDenied, audited);
        Assert.Equal("true", Detail(refusal, "auto_enrollment"));
        Assert.Equal(before.Count + 1, (await AuditTrail.EventsAsync(_admin, "device.enroll")).Count);
        // Nothing changed: the device is as it was (not enrolled, or enrolled with its credential and owner), or still absent.
        var after = (await Devices.FindDevicesAsync(new FindDevicesRequest { IdOrTag = serial })).Devices.SingleOrDefault();
        Assert.Equal((device?.EnrollStatus, device?.Credential?.Id, device?.Owner), (after?.EnrollStatus, after?.Credential?.Id, after?.Owner));
    }

    [Fact]
    public async Task A_matching_device_enrolls_itself_with_either_build_and_only_once()
    {
        var (name, cli, _) = await cluster.NewUserAsync("access,device-enroll");
        var serial = NewSerial();
        await InInventoryAsync(serial);

        var enrolled = (await AtDevice(cli, serial).Dtsh("device", "enroll", "--auto", "--software-key")).Succeeded();

        Assert.Contains($"Device \"{serial}\"/linux enrolled (auto-enrollment)", enrolled.StdOut);
        var device = (await Devices.FindDevicesAsync(new FindDevicesRequest { IdOrTag = serial })).Devices.Single();
        Assert.Equal((DeviceEnrollStatus.Enrolled, name), (device.EnrollStatus, device.Owner));
        var audit = await AuditTrail.LastAsync(_admin, "device.enroll", e => e.Success && e.AssetTag == serial);
        Assert.Equal("true", Detail(audit, "auto_enrollment"));
        Assert.Null(Detail(audit, "token_created_by"));

        // Enrolled, it cannot enroll itself again, not even for its owner.
        await RefusedAsync(AtDevice(cli, serial), serial, "this device cannot enroll itself: ask an administrator for an enrollment token",
            $"auto-enrollment refused: device {serial}/linux is already enrolled (by {name})");

        // The supplemental build the MDM knows is as good as the build.
        var (_, other, _) = await cluster.NewUserAsync("access,device-enroll");
        var second = NewSerial();
        await InInventoryAsync(second);
        (await AtDevice(other, second, build: Supplemental).Dtsh("device", "enroll", "--auto", "--software-key")).Succeeded();
    }

    [Fact]
    public async Task Each_field_that_differs_from_the_MDM_profile_is_refused_and_audited_by_name()
    {
        var (_, cli, _) = await cluster.NewUserAsync("access,device-enroll");
        var serial = NewSerial();
        await InInventoryAsync(serial);
        const string said = "this device cannot enroll itself: ask an administrator for an enrollment token";

        await RefusedAsync(AtDevice(cli, serial, model: "ThinkPad T14,20W0"), serial, said,
            "auto-enrollment refused: model differs: the MDM says \"ThinkPad X1,21HM\", the device \"ThinkPad T14,20W0\"");
        await RefusedAsync(AtDevice(cli, serial, version: "11"), serial, said,
            "auto-enrollment refused: OS version differs: the MDM says \"12\", the device \"11\"");
        await RefusedAsync(AtDevice(cli, serial, build: "12.4.0-1"), serial, said,
            "auto-enrollment refused: OS build differs: the MDM says \"12.5.0-28\" (or \"12.5.0-28a\"), the device \"12.4.0-1\"");
        var unknown = NewSerial();
        await RefusedAsync(AtDevice(cli, unknown), unknown, said, $"auto-enrollment refused: no device {unknown}/linux in the inventory");

        // A device of the inventory without an MDM profile has nothing to match.
        var bare = NewSerial();
        (await cluster.Admin.Dtctl("devices", "add", "--os", "linux", "--asset-tag", bare)).Succeeded();
        await RefusedAsync(AtDevice(cli, bare), bare, said, $"auto-enrollment refused: device {bare}/linux has no MDM profile to compare with");
    }

    [Fact]
    public async Task Without_the_verb_or_with_auto_enrollment_off_nobody_enrolls_without_a_token()
    {
        var serial = NewSerial();
        await InInventoryAsync(serial);
        var (plain, plainCli, _) = await cluster.NewUserAsync("access");
        await RefusedAsync(AtDevice(plainCli, serial), serial,
            $"auto-enrollment needs the device: enroll verb (role device-enroll); user {plain} has roles access",
            $"auto-enrollment refused: auto-enrollment needs the device: enroll verb (role device-enroll); user {plain} has roles access");

        var (_, cli, _) = await cluster.NewUserAsync("access,device-enroll");
        (await cluster.Admin.Dtctl("config", "set", "auto-enroll", "false")).Succeeded();
        try
        {
            await RefusedAsync(AtDevice(cli, serial), serial, "auto-enrollment is off in this cluster: ask an administrator for an enrollment token",
                "auto-enrollment refused: auto-enrollment is off in this cluster");
        }
        finally
        {
            (await cluster.Admin.Dtctl("config", "set", "auto-enroll", "true")).Succeeded();
        }
    }

    [Fact]
    public async Task Dtsh_login_auto_enrolls_a_matching_TPM_device_and_authenticates_it()
    {
        // Login never makes a software key by itself: the device needs its TPM (here swtpm) to auto-enroll at login.
        await using var tpm = await SoftwareTpm.StartAsync();
        var serial = NewSerial();
        await InInventoryAsync(serial);
        var user = "ae" + Guid.NewGuid().ToString("N")[..10];
        var added = (await cluster.Admin.Dtctl("users", "add", user, "--roles", "access,device-enroll")).Succeeded();
        var invitation = added.StdOut.Split(' ', '\n').Single(w => w.StartsWith("dtinv1.", StringComparison.Ordinal)).Trim();
        var cli = AtDevice(new Cli(cluster.Path(user + "-home")), serial).With("DTSH_TPM", tpm.Tcti);

        var login = (await cli.DtshWithInput("password of " + user + "\n", "login", "--proxy", cluster.Gateway.Proxy, "--invite", invitation)).Succeeded();

        Assert.True(login.StdErr.Contains($"Device \"{serial}\"/linux enrolled (auto-enrollment)", StringComparison.Ordinal), login.StdErr);
        var device = (await Devices.FindDevicesAsync(new FindDevicesRequest { IdOrTag = serial })).Devices.Single();
        Assert.Equal((DeviceEnrollStatus.Enrolled, user), (device.EnrollStatus, device.Owner));
        Assert.NotEqual(DeviceAttestationType.Unspecified, device.Credential.DeviceAttestationType);
        Assert.True((await AuditTrail.LastAsync(_admin, "device.authenticate", e => e.AssetTag == serial)).Success);

        // A user who may not auto-enroll is not even tried: no refusal lands in the audit log.
        var before = (await AuditTrail.EventsAsync(_admin, "device.enroll")).Count;
        var other = NewSerial();
        await InInventoryAsync(other);
        var (_, plain, password) = await cluster.NewUserAsync("access");
        var quiet = (await AtDevice(plain, other).DtshWithInput(password + "\n", "login", "--proxy", cluster.Gateway.Proxy)).Succeeded();
        Assert.DoesNotContain("auto-enroll", quiet.StdErr);
        Assert.Equal(before, (await AuditTrail.EventsAsync(_admin, "device.enroll")).Count);
    }
}
