using System.Diagnostics;
using Xunit.Abstractions;

namespace DeviceTrust.EndToEnd.Tests;

[Collection(SharedGatewayCollection.Name)]
public sealed class AdministrationTests(SharedGateway shared, ITestOutputHelper output)
{
    [Fact]
    public async Task A_duplicate_user_is_refused()
    {
        var (name, _, _) = await shared.NewUserAsync("access");
        (await shared.Admin.Dtctl("users", "add", name, "--roles", "access")).FailedWith($"user \"{name}\" already exists");
    }

    [Fact]
    public async Task Unknown_roles_are_refused_and_no_user_is_created()
    {
        (await shared.Admin.Dtctl("users", "add", "erin", "--roles", "access,acess")).FailedWith("unknown role(s): acess");
        (await shared.Admin.Dtctl("users", "get", "erin")).FailedWith("user \"erin\" not found");
    }

    [Fact]
    public async Task Invalid_user_names_are_refused() =>
        (await shared.Admin.Dtctl("users", "add", "Bad Name", "--roles", "access")).FailedWith("user name \"Bad Name\" is invalid");

    [Fact]
    public async Task A_malformed_role_file_reports_the_file_the_line_and_the_reason()
    {
        var file = shared.Path("bad-role.yaml");
        await File.WriteAllTextAsync(file, "kind: role\nmetadata:\n  name: bad\nspec:\n  allow:\n    rules:\n      user: [list, fly]\n");
        (await shared.Admin.Dtctl("roles", "create", "-f", file)).FailedWith($"{file}: line 7: unknown verb \"fly\" for resource user");
        (await shared.Admin.Dtctl("roles", "get", "bad")).FailedWith("role \"bad\" not found");
    }

    [Fact]
    public async Task Preset_roles_cannot_be_deleted() =>
        (await shared.Admin.Dtctl("roles", "rm", "editor")).FailedWith("preset role");

    [Fact]
    public async Task An_unknown_device_trust_mode_is_refused() =>
        (await shared.Admin.Dtctl("config", "set", "device-trust-mode", "always")).FailedWith("unknown device trust mode \"always\"");

    [Fact]
    public async Task Auto_enrollment_turns_on_and_off_without_a_warning()
    {
        var result = (await shared.Admin.Dtctl("config", "set", "auto-enroll", "true")).Succeeded();
        Assert.Contains("auto_enroll: true", result.StdOut);
        Assert.DoesNotContain("WARNING", result.StdErr);
        Assert.Contains("auto_enroll: false", (await shared.Admin.Dtctl("config", "set", "auto-enroll", "false")).Succeeded().StdOut);
    }

    [Fact]
    public async Task A_user_without_the_verb_is_denied()
    {
        var (name, cli, _) = await shared.NewUserAsync("access");
        (await cli.Dtctl("users", "ls")).FailedWith($"access denied: user \"{name}\" may not list user");
        (await cli.Dtctl("config", "set", "device-trust-mode", "off")).FailedWith("may not update cluster_config");
    }

    [Fact]
    public async Task A_role_change_takes_effect_without_logging_in_again()
    {
        var (name, cli, _) = await shared.NewUserAsync("access");
        (await cli.Dtctl("users", "ls")).FailedWith("access denied");
        (await shared.Admin.Dtctl("users", "update", name, "--set-roles", "access,auditor,editor")).Succeeded();
        var timer = Stopwatch.StartNew();
        while ((await cli.Dtctl("users", "ls")).ExitCode != 0)
        {
            Assert.True(timer.Elapsed < TimeSpan.FromSeconds(30), "the new role never took effect");
            await Task.Delay(200);
        }
        output.WriteLine($"the role change took effect after {timer.ElapsedMilliseconds} ms (cache bound: 2 s on other gateways)");
    }

    [Fact]
    public async Task Users_list_as_json_for_scripts()
    {
        var json = (await shared.Admin.Dtctl("users", "ls", "--format", "json")).Succeeded().StdOut;
        using var document = System.Text.Json.JsonDocument.Parse(json);
        Assert.Contains(document.RootElement.EnumerateArray(), u => u.GetProperty("name").GetString() == "admin");
    }

    [Fact]
    public async Task Health_and_readiness_answer_over_https()
    {
        var ca = new Client.Profiles.ProfileStore(shared.Admin.Home).Load()!.Ca;
        using var handler = new SocketsHttpHandler { SslOptions = ClusterCa.Trusting(ca) };
        using var http = new HttpClient(handler);
        Assert.Equal("ok\n", await http.GetStringAsync($"https://{shared.Gateway.Proxy}/healthz"));
        Assert.Equal("ready\n", await http.GetStringAsync($"https://{shared.Gateway.Proxy}/readyz"));
    }
}
