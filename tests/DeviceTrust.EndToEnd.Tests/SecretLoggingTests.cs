using System.Text.RegularExpressions;
using DeviceTrust.Client.Profiles;
using DeviceTrust.Testing;
using Xunit.Abstractions;

namespace DeviceTrust.EndToEnd.Tests;

/// <summary>
/// Nothing secret reaches a gateway's output, even with every category logging at Debug: the bootstrap and user
/// invitations, passwords (dtsh's and the console's), an enrollment token, a console session, the master key, and
/// the private keys of the CA, of dtsh and of the device. Each is looked for whole and, for keys, by their body.
/// </summary>
public sealed class SecretLoggingTests(ITestOutputHelper output)
{
    [Fact]
    public async Task No_secret_reaches_the_gateway_output_even_with_debug_logging()
    {
        using var directory = new TempDirectory("dt-secrets");
        var environment = new Dictionary<string, string?>(GatewayProcess.HighLimits);
        foreach (var category in new[] { "Default", "Microsoft", "Microsoft.AspNetCore", "Orleans", "Microsoft.Orleans", "Polly", "DeviceTrust" })
        {
            environment[$"Logging__LogLevel__{category}"] = "Debug";
        }
        await using var gateway = new GatewayProcess(directory["data"], environment);
        await gateway.StartAsync();
        var secrets = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["the bootstrap invitation"] = gateway.AdminInvitation,
            ["the master key"] = (await File.ReadAllTextAsync(directory["data/master.key"])).Trim(),
        };

        var admin = new Cli(directory["admin"]);
        const string AdminPassword = "admin password for the secret scan";
        secrets["admin's password"] = AdminPassword;
        (await admin.DtshWithInput(AdminPassword + "\n", "login", "--proxy", gateway.Proxy, "--invite", gateway.AdminInvitation)).Succeeded();
        secrets["dtsh's private key"] = KeyBody(await File.ReadAllTextAsync(directory["admin/key.pem"]));

        var added = (await admin.Dtctl("users", "add", "carol", "--roles", "access")).Succeeded().StdOut;
        secrets["a user's invitation"] = added.Split(' ', '\n').Single(w => w.StartsWith("dtinv1.", StringComparison.Ordinal)).Trim();
        var carol = new Cli(directory["carol"]);
        const string CarolPassword = "carol's password for the secret scan";
        secrets["carol's password"] = CarolPassword;
        (await carol.DtshWithInput(CarolPassword + "\n", "login", "--proxy", gateway.Proxy, "--invite", secrets["a user's invitation"])).Succeeded();
        (await carol.DtshWithInput("a wrong password\n", "login", "--proxy", gateway.Proxy, "--user", "carol")).FailedWith("invalid user name or password");
        secrets["a wrong password"] = "a wrong password";

        // An enrollment token, spent by a device with a software key.
        var enrolled = (await admin.Dtctl("devices", "add", "--os", "linux", "--asset-tag", "SECRET0001", "--enroll")).Succeeded().StdOut;
        var token = enrolled.Split('\n').Single(l => l.StartsWith("dtsh device enroll --token=", StringComparison.Ordinal))["dtsh device enroll --token=".Length..].Trim();
        secrets["an enrollment token"] = token;
        var data = directory["device.json"];
        await File.WriteAllTextAsync(data, """{ "serialNumber": "SECRET0001", "osVersion": "12", "modelIdentifier": "TestBook1,1" }""");
        (await carol.With("DTSH_DEVICE_DATA", data).Dtsh("device", "enroll", "--token=" + token, "--software-key")).Succeeded();
        (await carol.With("DTSH_DEVICE_DATA", data).Dtsh("device", "authenticate")).Succeeded();
        foreach (var key in Directory.GetFiles(directory["carol"], "*.pem", SearchOption.AllDirectories).Where(f => File.ReadAllText(f).Contains("PRIVATE KEY", StringComparison.Ordinal)))
        {
            secrets[$"carol's key {Path.GetFileName(key)}"] = KeyBody(await File.ReadAllTextAsync(key));
        }

        // The web console: a login with its password, and the session it opens.
        var ca = new ProfileStore(directory["admin"]).Load()!.Ca;
        using (var http = new HttpClient(new SocketsHttpHandler { SslOptions = ClusterCa.Trusting(ca), CookieContainer = new System.Net.CookieContainer(), AllowAutoRedirect = false })
        { BaseAddress = new Uri($"https://{gateway.Proxy}") })
        {
            var form = await http.GetStringAsync("/login");
            var csrf = Regex.Match(form, "name=\"csrf\" value=\"([^\"]+)\"").Groups[1].Value;
            using var login = await http.PostAsync("/login", new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["csrf"] = csrf,
                ["user"] = "carol",
                ["password"] = CarolPassword,
            }));
            Assert.Equal(System.Net.HttpStatusCode.Redirect, login.StatusCode);
            var session = login.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith(WebConsoleCluster.SessionCookie + "=", StringComparison.Ordinal));
            secrets["a console session"] = session[(WebConsoleCluster.SessionCookie.Length + 1)..session.IndexOf(';', StringComparison.Ordinal)];
            Assert.Equal(System.Net.HttpStatusCode.OK, (await http.GetAsync("/devices/mine")).StatusCode);
        }
        await gateway.StopAsync();

        var log = gateway.Output;
        output.WriteLine($"{log.Length:N0} characters of gateway output scanned for {secrets.Count} secrets");
        Assert.True(log.Length > 20_000, "the debug output is too short to have been at Debug");
        Assert.All(secrets, s => Assert.True(s.Value.Length >= 16 && !log.Contains(s.Value, StringComparison.Ordinal), $"{s.Key} is in the gateway's output"));
        Assert.DoesNotMatch("-----BEGIN [A-Z ]*PRIVATE KEY-----", log);
    }

    /// <summary>The base64 body of a PEM private key, on one line (how it would appear if printed).</summary>
    private static string KeyBody(string pem) =>
        string.Concat(pem.Split('\n').Where(l => l.Length > 0 && !l.StartsWith("-----", StringComparison.Ordinal)).Select(l => l.Trim()))[..64];
}
