using DeviceTrust.Client.Profiles;
using DeviceTrust.Core.Audit;
using DeviceTrust.Testing;
using Grpc.Core;
using Microsoft.Playwright;

namespace DeviceTrust.EndToEnd.Tests;

/// <summary>A gateway of its own for the web console tests, and a headless Chromium (Debian's) to drive it.</summary>
public sealed class WebConsoleCluster() : GatewayCluster("dt-web",
    new Dictionary<string, string?>(GatewayProcess.HighLimits)
    {
        ["DeviceTrust__Gateway__TrustedProxies"] = TrustedProxy,
        ["DeviceTrust__Gateway__ProxyProtocolFrom"] = Balancer,
        ["DeviceTrust__Web__DeviceTokenLifetime"] = "00:00:20",
    })
{
    /// <summary>How long this gateway's device web tokens and confirmation codes work (shortened so a test can outlive them).</summary>
    public static readonly TimeSpan DeviceTokenLifetime = TimeSpan.FromSeconds(20);

    /// <summary>The one address whose X-Forwarded-For this gateway believes (a reverse proxy in front of it).</summary>
    public const string TrustedProxy = "127.0.0.3";

    /// <summary>The one address whose PROXY protocol header this gateway believes (a TCP load balancer in front of it).</summary>
    public const string Balancer = "127.0.0.4";

    /// <summary>Where the screenshots of a run go (the test output folder; a few are copied to docs/ by hand).</summary>
    public static readonly string Screenshots = System.IO.Path.Combine(AppContext.BaseDirectory, "screenshots");

    private IPlaywright? _playwright;
    public IBrowser Browser { get; private set; } = null!;
    public string Url => $"https://{Gateway.Proxy}";

    protected override async Task AfterStartAsync()
    {
        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Binaries.Chromium,
            Headless = true,
            // Root in CI has no user namespace sandbox to offer.
            Args = ["--no-sandbox"],
        });
    }

    /// <summary>A fresh browser profile (no cookies). The gateway's certificate is from the cluster CA, which this browser does not know.</summary>
    public Task<IBrowserContext> NewContextAsync() =>
        Browser.NewContextAsync(new BrowserNewContextOptions { IgnoreHTTPSErrors = true, BaseURL = Url, ViewportSize = new ViewportSize { Width = 1280, Height = 800 } });

    /// <summary>The console's session cookie.</summary>
    public const string SessionCookie = "__Host-devicetrust-session";

    /// <summary>Logs in through the form, as a person would, and lands on "My devices".</summary>
    public static async Task<IPage> LogInAsync(IBrowserContext context, string user, string password)
    {
        var page = await context.NewPageAsync();
        await page.GotoAsync("/login");
        await page.GetByLabel("User name").FillAsync(user);
        await page.GetByLabel("Password").FillAsync(password);
        await page.GetByRole(AriaRole.Button, new() { Name = "Log in" }).ClickAsync();
        try
        {
            // Landed is what logged in means: the page's own document, not its stylesheet, which a loaded machine may serve late.
            await page.WaitForURLAsync("**/devices/mine", new() { WaitUntil = WaitUntilState.DOMContentLoaded });
        }
        catch (TimeoutException)
        {
            // Say what the browser shows instead (a refusal's sentence, a page that never answered).
            throw new Xunit.Sdk.XunitException($"{user} was not logged in within 30 s: the browser is at {page.Url} showing \"{await page.Locator("body").InnerTextAsync(new() { Timeout = 5000 })}\"");
        }
        return page;
    }

    public static async Task ScreenshotAsync(IPage page, string name)
    {
        Directory.CreateDirectory(Screenshots);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = System.IO.Path.Combine(Screenshots, name + ".png"), FullPage = true });
    }

    /// <summary>The session's CSRF token, as every signed-in page carries it (in its log out form).</summary>
    public static async Task<string> CsrfTokenAsync(IPage page)
    {
        await page.GotoAsync("/devices/mine");
        return (await page.Locator("form.logout input[name=csrf]").GetAttributeAsync("value"))!;
    }

    public override async Task DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.DisposeAsync();
        }
        _playwright?.Dispose();
        await base.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class WebConsoleCollection : ICollectionFixture<WebConsoleCluster>
{
    public const string Name = "web console";
}

[Collection(WebConsoleCollection.Name)]
public sealed class WebConsoleTests(WebConsoleCluster cluster) : IDisposable
{
    private const string SessionCookie = WebConsoleCluster.SessionCookie;
    private readonly Grpc.Net.Client.GrpcChannel _auditor = Client.Connection.GatewayChannel.ForProfile(new ProfileStore(cluster.Admin.Home).Load()!);

    public void Dispose() => _auditor.Dispose();

    [Fact]
    public async Task An_admin_logs_in_sees_the_fleet_and_the_audit_log_and_logging_out_ends_the_session_everywhere()
    {
        await using var context = await cluster.NewContextAsync();
        var page = await WebConsoleCluster.LogInAsync(context, "admin", GatewayCluster.AdminPassword);
        Assert.EndsWith("/devices/mine", page.Url, StringComparison.Ordinal);
        Assert.Equal("My devices", await page.Locator("h1").InnerTextAsync());
        Assert.Equal("admin", await page.Locator(".user .who").InnerTextAsync());
        // nothing requires a trusted device here (cluster mode optional, admin's roles optional): no shield at all
        Assert.Equal(0, await page.Locator("#shield").CountAsync());
        Assert.Equal("No devices.", await page.Locator("#no-devices").InnerTextAsync());

        var cookie = (await context.CookiesAsync()).Single(c => c.Name == SessionCookie);
        Assert.True(cookie.HttpOnly);
        Assert.True(cookie.Secure);
        Assert.Equal(SameSiteAttribute.Strict, cookie.SameSite);
        Assert.Equal(-1, cookie.Expires); // a browser session cookie: the server ends it on idle or at its lifetime
        // the session secret is nowhere in the page, nor in the URL
        Assert.DoesNotContain(cookie.Value, await page.ContentAsync(), StringComparison.Ordinal);
        Assert.DoesNotContain(cookie.Value, page.Url, StringComparison.Ordinal);

        var tag = "WEB" + Guid.NewGuid().ToString("N")[..8].ToUpperInvariant();
        (await cluster.Admin.Dtctl("devices", "add", "--os", "linux", "--asset-tag", tag)).Succeeded();
        await page.GetByRole(AriaRole.Link, new() { Name = "Devices", Exact = true }).ClickAsync();
        await page.GetByLabel("Asset tag or device id").FillAsync(tag);
        await page.GetByRole(AriaRole.Button, new() { Name = "Find" }).ClickAsync();
        await page.GetByRole(AriaRole.Link, new() { Name = tag }).ClickAsync();
        Assert.Equal($"Device {tag}", await page.Locator("h1").InnerTextAsync());
        Assert.Contains("not enrolled", await page.Locator("#device").InnerTextAsync(), StringComparison.Ordinal);
        await WebConsoleCluster.ScreenshotAsync(page, "device");
        await page.GotoAsync("/devices");
        Assert.True(await page.Locator("#devices tbody tr").CountAsync() > 0);
        await WebConsoleCluster.ScreenshotAsync(page, "devices");

        await page.GotoAsync("/audit?type=user.login&user=admin");
        var login = page.Locator("#events tbody tr").Last;
        Assert.Contains("user.login", await login.InnerTextAsync(), StringComparison.Ordinal);
        Assert.Contains("password login (web console)", await login.InnerTextAsync(), StringComparison.Ordinal);
        await WebConsoleCluster.ScreenshotAsync(page, "audit");

        // Logging in again in the same browser ends the session it had: its secret would be overwritten and forgotten.
        var second = await WebConsoleCluster.LogInAsync(context, "admin", GatewayCluster.AdminPassword);
        Assert.NotEqual(cookie.Value, (await context.CookiesAsync()).Single(c => c.Name == SessionCookie).Value);
        await using (var earlier = await cluster.NewContextAsync())
        {
            await earlier.AddCookiesAsync([new Cookie { Name = SessionCookie, Value = cookie.Value, Url = cluster.Url, Secure = true, HttpOnly = true, SameSite = SameSiteAttribute.Strict }]);
            var stalePage = await earlier.NewPageAsync();
            await stalePage.GotoAsync("/devices/mine");
            Assert.EndsWith("/login", stalePage.Url, StringComparison.Ordinal);
        }
        cookie = (await context.CookiesAsync()).Single(c => c.Name == SessionCookie);
        // (the first page's forms carry the ended session's token now: log out from the new one)
        page = second;

        await page.GetByRole(AriaRole.Button, new() { Name = "Log out" }).ClickAsync();
        Assert.EndsWith("/login", page.Url, StringComparison.Ordinal);
        await AuditTrail.LastAsync(_auditor, "user.logout", e => e.User == "admin" && e.Success);
        // The old cookie, presented again from another browser, opens nothing: the session ended on the server.
        await using var replay = await cluster.NewContextAsync();
        await replay.AddCookiesAsync([new Cookie { Name = SessionCookie, Value = cookie.Value, Url = cluster.Url, Secure = true, HttpOnly = true, SameSite = SameSiteAttribute.Strict }]);
        var stale = await replay.NewPageAsync();
        await stale.GotoAsync("/devices/mine");
        Assert.EndsWith("/login", stale.Url, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_wrong_password_gets_the_cli_s_answer_no_session_and_an_audited_reason()
    {
        var (name, _, _) = await cluster.NewUserAsync("access");
        await using var context = await cluster.NewContextAsync();
        var page = await context.NewPageAsync();
        await page.GotoAsync("/login");
        await page.GetByLabel("User name").FillAsync(name);
        await page.GetByLabel("Password").FillAsync("not the password");
        var answer = await page.RunAndWaitForResponseAsync(
            () => page.GetByRole(AriaRole.Button, new() { Name = "Log in" }).ClickAsync(), r => r.Url.EndsWith("/login", StringComparison.Ordinal) && r.Request.Method == "POST");

        Assert.Equal(401, answer.Status);
        Assert.Equal("invalid user name or password", await page.Locator("#error").InnerTextAsync());
        Assert.DoesNotContain(await context.CookiesAsync(), c => c.Name == SessionCookie);
        var refused = await AuditTrail.LastAsync(_auditor, "user.login", e => e.User == name);
        AuditTrail.IsRefusal(refused, StatusCode.Unauthenticated, "wrong password");
        Assert.Contains("\"via\":\"web\"", refused.Details, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_form_posted_without_its_csrf_token_is_refused_audited_and_changes_nothing()
    {
        var (name, _, password) = await cluster.NewUserAsync("access");
        await using var context = await cluster.NewContextAsync();
        var page = await WebConsoleCluster.LogInAsync(context, name, password);

        // A logout posted with the session cookie but not the page's token (what a cross-site form would send).
        var forged = await context.APIRequest.PostAsync("/logout", new APIRequestContextOptions { Form = context.APIRequest.CreateFormData().Set("csrf", "forged") });
        Assert.Equal(403, forged.Status);
        Assert.Contains("This form did not come from this console session.", await forged.TextAsync(), StringComparison.Ordinal);
        var refused = await AuditTrail.LastAsync(_auditor, "web.csrf_refused", e => e.User == name);
        AuditTrail.IsRefusal(refused, StatusCode.PermissionDenied, "a form was posted to /logout without this session's CSRF token: refused");
        // nothing changed: the session still works
        await page.GotoAsync("/devices/mine");
        Assert.Equal("My devices", await page.Locator("h1").InnerTextAsync());

        // The login form without its page's token is refused before any password is looked at.
        await using var fresh = await cluster.NewContextAsync();
        var login = await fresh.APIRequest.PostAsync("/login", new APIRequestContextOptions
        {
            Form = fresh.APIRequest.CreateFormData().Set("user", name).Set("password", password),
        });
        Assert.Equal(403, login.Status);
        Assert.DoesNotContain(await fresh.CookiesAsync(), c => c.Name == SessionCookie);
        AuditTrail.IsRefusal(await AuditTrail.LastAsync(_auditor, "web.csrf_refused", e => e.User == name && e.Message.Contains("login", StringComparison.Ordinal)),
            StatusCode.PermissionDenied, "a login form was posted without the token of its login page: refused");
    }

    [Fact]
    public async Task A_role_that_requires_a_trusted_device_shows_the_yellow_shield_and_says_why()
    {
        var (name, _, password) = await cluster.NewUserAsync("access,require-trusted-device");
        await using var context = await cluster.NewContextAsync();
        var page = await WebConsoleCluster.LogInAsync(context, name, password);

        var shield = page.Locator("#shield");
        Assert.Equal("shield yellow", await shield.GetAttributeAsync("class"));
        Assert.Equal("Trusted device required", await shield.GetAttributeAsync("aria-label"));
        Assert.Contains("A trusted device is required (role require-trusted-device)", await page.Locator("#shield-note").InnerTextAsync(), StringComparison.Ordinal);
        await WebConsoleCluster.ScreenshotAsync(page, "shield-yellow");
    }

    [Fact]
    public async Task A_page_the_roles_do_not_allow_is_refused_with_the_reason_and_audited_under_the_rpc_s_code()
    {
        var (name, _, password) = await cluster.NewUserAsync("access");
        await using var context = await cluster.NewContextAsync();
        var page = await WebConsoleCluster.LogInAsync(context, name, password);

        var answer = await page.GotoAsync("/audit");
        Assert.Equal(403, answer!.Status);
        var reason = $"access denied: user \"{name}\" may not list audit (roles: access)";
        Assert.Equal(reason, await page.Locator("#message").InnerTextAsync());
        AuditTrail.IsRefusal(await AuditTrail.LastAsync(_auditor, "audit.list", e => e.User == name), StatusCode.PermissionDenied, reason);
        // and nothing of the log is on the page
        Assert.Equal(0, await page.Locator("#events").CountAsync());
    }

    [Fact]
    public async Task The_login_works_from_the_keyboard_alone_and_every_field_has_a_label()
    {
        await using var context = await cluster.NewContextAsync();
        var page = await context.NewPageAsync();
        await page.GotoAsync("/login");
        Assert.Equal(1, await page.Locator("h1").CountAsync());
        Assert.Equal("en", await page.Locator("html").GetAttributeAsync("lang"));
        foreach (var input in await page.Locator("input:not([type=hidden])").AllAsync())
        {
            var id = await input.GetAttributeAsync("id");
            Assert.Equal(1, await page.Locator($"label[for=\"{id}\"]").CountAsync());
        }
        // The user name field has the focus; Tab reaches the password, Enter submits.
        await page.Keyboard.TypeAsync("admin");
        await page.Keyboard.PressAsync("Tab");
        await page.Keyboard.TypeAsync(GatewayCluster.AdminPassword);
        await page.Keyboard.PressAsync("Enter");
        await page.WaitForURLAsync("**/devices/mine");
        // On a signed-in page every control is reachable by Tab, in reading order: the brand, the navigation (all of it
        // for this admin), log out.
        string[] expected = ["DeviceTrust", "My devices", "Devices", "Access check", "Audit log", "Users", "Roles", "Locks", "Nodes", "Settings", "Log out"];
        var reached = new List<string>();
        foreach (var _ in expected)
        {
            await page.Keyboard.PressAsync("Tab");
            reached.Add(await page.EvaluateAsync<string>("() => document.activeElement.textContent.trim()"));
        }
        Assert.Equal(expected, reached);
        await WebConsoleCluster.ScreenshotAsync(page, "login-keyboard");
    }

    /// <summary>A user whose role requires a trusted device, and the dtsh of the device they enrolled (a software key, DTSH_DEVICE_DATA).</summary>
    private async Task<(string Name, string Password, Cli Device, string Serial)> EnrolledUserAsync(string roles = "access,require-trusted-device")
    {
        var (name, cli, password) = await cluster.NewUserAsync(roles);
        var serial = "W" + Guid.NewGuid().ToString("N")[..11].ToUpperInvariant();
        var added = (await cluster.Admin.Dtctl("devices", "add", "--os", "linux", "--asset-tag", serial, "--enroll")).Succeeded().StdOut;
        var token = added.Split('\n').Single(l => l.StartsWith("dtsh device enroll --token=", StringComparison.Ordinal))["dtsh device enroll --token=".Length..].Trim();
        var data = cluster.Path($"device-{serial}.json");
        await File.WriteAllTextAsync(data, $$"""{ "serialNumber": "{{serial}}", "osVersion": "12", "modelIdentifier": "TestBook1,1" }""");
        var device = cli.With("DTSH_DEVICE_DATA", data);
        (await device.Dtsh("device", "enroll", "--token=" + token, "--software-key")).Succeeded();
        return (name, password, device, serial);
    }

    /// <summary>Asks the console for a device web token and returns the devicetrust:// address it shows.</summary>
    private static async Task<string> WebTokenAddressAsync(IPage page)
    {
        await page.GotoAsync("/devices/web-authenticate");
        await page.GetByRole(AriaRole.Button, new() { Name = "Authenticate this device" }).ClickAsync();
        var command = await page.Locator("#command").InnerTextAsync();
        return command.Split('\'')[1];
    }

    private static string CodeFrom(string dtshOutput) =>
        dtshOutput.Split('\n').Select(l => l.Trim()).Single(l => Core.Secrets.SecretToken.LooksValid(l));

    /// <summary>Enters the code in the console's form, as a person would.</summary>
    private static async Task<IResponse> ConfirmAsync(IPage page, string code)
    {
        await page.GotoAsync("/devices/web-authenticate");
        await page.GetByLabel("Confirmation code").FillAsync(code);
        return (await page.RunAndWaitForResponseAsync(() => page.GetByRole(AriaRole.Button, new() { Name = "Confirm" }).ClickAsync(),
            r => r.Url.EndsWith("/devices/web-confirm", StringComparison.Ordinal)))!;
    }

    /// <summary>Posts the code with the session's CSRF token, whatever the page shows (a replay from a session that is already green).</summary>
    private static async Task<IAPIResponse> PostConfirmationAsync(IBrowserContext context, IPage page, string code)
    {
        var csrf = await WebConsoleCluster.CsrfTokenAsync(page);
        return await context.APIRequest.PostAsync("/devices/web-confirm", new APIRequestContextOptions
        {
            Form = context.APIRequest.CreateFormData().Set("csrf", csrf).Set("code", code),
            MaxRedirects = 0,
        });
    }

    /// <summary>The console's access check for an app, as the page shows it.</summary>
    private static async Task<(string Verdict, string Reasons)> CheckAppAsync(IPage page, string app)
    {
        await page.GotoAsync("/access");
        await page.GetByLabel("Kind").SelectOptionAsync("app");
        await page.GetByLabel("Name (node or app)").FillAsync(app);
        await page.GetByRole(AriaRole.Button, new() { Name = "Check" }).ClickAsync();
        var reasons = page.Locator("#reasons");
        return (await page.Locator("#decision h2").InnerTextAsync(), await reasons.CountAsync() > 0 ? await reasons.InnerTextAsync() : "");
    }

    [Fact]
    public async Task Device_web_authentication_through_the_real_dtsh_turns_the_shield_green_and_nothing_can_be_used_twice()
    {
        // A role for every app that requires a trusted device: the access check is the resource the upgrade opens.
        var role = "secure-apps-" + Guid.NewGuid().ToString("N")[..6];
        var roleFile = cluster.Path(role + ".yaml");
        await File.WriteAllTextAsync(roleFile, $"kind: role\nmetadata: {{name: {role}}}\nspec: {{options: {{device_trust_mode: required}}, allow: {{app_labels: {{'*': '*'}}}}}}\n");
        (await cluster.Admin.Dtctl("roles", "create", "-f", roleFile)).Succeeded();
        var (name, password, device, serial) = await EnrolledUserAsync("access," + role);
        await using var context = await cluster.NewContextAsync();
        var page = await WebConsoleCluster.LogInAsync(context, name, password);
        Assert.Equal("shield yellow", await page.Locator("#shield").GetAttributeAsync("class"));
        var (verdict, reasons) = await CheckAppAsync(page, "grafana");
        Assert.Equal("Denied", verdict);
        Assert.Contains("requires a trusted device", reasons, StringComparison.Ordinal);
        await WebConsoleCluster.ScreenshotAsync(page, "access-denied");
        await page.GetByRole(AriaRole.Link, new() { Name = "Authenticate this device" }).ClickAsync();
        var address = await WebTokenAddressAsync(page);
        Assert.StartsWith("devicetrust://web-authenticate?cluster=", address, StringComparison.Ordinal);
        await WebConsoleCluster.ScreenshotAsync(page, "web-authenticate");

        var proved = (await device.Dtsh("device", "web-authenticate", address)).Succeeded().StdOut;
        Assert.Contains($"Device {serial} is authenticated for your web console session.", proved, StringComparison.Ordinal);
        var code = CodeFrom(proved);
        var confirmed = await ConfirmAsync(page, code);
        Assert.Equal(302, confirmed.Status);
        Assert.Equal("shield green", await page.Locator("#shield").GetAttributeAsync("class"));
        Assert.Equal($"This session is authenticated with trusted device {serial}.", await page.Locator("#shield-note").InnerTextAsync());
        await WebConsoleCluster.ScreenshotAsync(page, "shield-green");
        Assert.Equal(("Allowed", ""), await CheckAppAsync(page, "grafana"));
        var made = await AuditTrail.LastAsync(_auditor, "device.web_token.create", e => e.User == name);
        Assert.True(made.Success);
        var ceremony = await AuditTrail.LastAsync(_auditor, "device.web_authenticate", e => e.User == name);
        Assert.True(ceremony.Success, ceremony.Message);
        Assert.Equal(serial, ceremony.AssetTag);
        Assert.True((await AuditTrail.LastAsync(_auditor, "device.web_confirm", e => e.User == name)).Success);

        // The token again: refused by the gateway before any challenge, audited; the session stays as it is.
        (await device.Dtsh("device", "web-authenticate", address)).FailedWith("invalid device web token: already used");
        AuditTrail.IsRefusal(await AuditTrail.LastAsync(_auditor, "device.web_authenticate", e => e.User == name), StatusCode.PermissionDenied,
            "invalid device web token: already used");
        // The confirmation again: refused, audited.
        var again = await PostConfirmationAsync(context, page, code);
        Assert.Equal(403, again.Status);
        Assert.Contains("invalid device web confirmation: already used", await again.TextAsync(), StringComparison.Ordinal);
        AuditTrail.IsRefusal(await AuditTrail.LastAsync(_auditor, "device.web_confirm", e => e.User == name), StatusCode.PermissionDenied,
            "invalid device web confirmation: already used");
        await page.GotoAsync("/devices/mine");
        Assert.Equal("shield green", await page.Locator("#shield").GetAttributeAsync("class"));

        // Unenrolling the device takes the green shield away at the next page.
        (await cluster.Admin.Dtctl("devices", "unenroll", "--asset-tag", serial)).Succeeded();
        await Task.Delay(TimeSpan.FromSeconds(2.5)); // the gateway's device state cache (2 s)
        await page.ReloadAsync();
        Assert.Equal("shield yellow", await page.Locator("#shield").GetAttributeAsync("class"));
        Assert.Contains($"device {serial} is no longer enrolled with the credential it proved", await page.Locator("#shield-note").InnerTextAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_expired_device_web_token_and_an_expired_confirmation_code_are_refused_audited_and_leave_the_session_yellow()
    {
        var (name, password, device, _) = await EnrolledUserAsync();
        await using var context = await cluster.NewContextAsync();
        var page = await WebConsoleCluster.LogInAsync(context, name, password);
        var unspent = await WebTokenAddressAsync(page);
        Assert.Contains("it works for 20 seconds,", await page.Locator("main").InnerTextAsync(), StringComparison.Ordinal);
        var proved = (await device.Dtsh("device", "web-authenticate", await WebTokenAddressAsync(page))).Succeeded().StdOut;
        var confirmedBy = DateTimeOffset.UtcNow + WebConsoleCluster.DeviceTokenLifetime;
        Assert.Matches(@"Enter this confirmation code in the console within \d+s:", proved);
        var code = CodeFrom(proved);

        // Both outlived: the first token (made before the code) and the code.
        await Task.Delay(confirmedBy - DateTimeOffset.UtcNow + TimeSpan.FromSeconds(1));
        (await device.Dtsh("device", "web-authenticate", unspent)).FailedWith("invalid device web token: expired");
        AuditTrail.IsRefusal(await AuditTrail.LastAsync(_auditor, "device.web_authenticate", e => e.User == name), StatusCode.PermissionDenied,
            "invalid device web token: expired");
        var refused = await ConfirmAsync(page, code);
        Assert.Equal(403, refused.Status);
        Assert.Equal("invalid device web confirmation: expired", await page.Locator("#message").InnerTextAsync());
        AuditTrail.IsRefusal(await AuditTrail.LastAsync(_auditor, "device.web_confirm", e => e.User == name), StatusCode.PermissionDenied,
            "invalid device web confirmation: expired");
        await page.GotoAsync("/devices/mine");
        Assert.Equal("shield yellow", await page.Locator("#shield").GetAttributeAsync("class"));
    }

    [Fact]
    public async Task A_confirmation_from_another_session_a_device_at_another_address_and_another_user_s_token_are_refused_and_audited()
    {
        var (name, password, device, _) = await EnrolledUserAsync();
        await using var first = await cluster.NewContextAsync();
        await using var second = await cluster.NewContextAsync();
        var pageA = await WebConsoleCluster.LogInAsync(first, name, password);
        var pageB = await WebConsoleCluster.LogInAsync(second, name, password);

        // A's token, proved by the device, confirmed in B: refused, and B stays yellow.
        var code = CodeFrom((await device.Dtsh("device", "web-authenticate", await WebTokenAddressAsync(pageA))).Succeeded().StdOut);
        var refused = await ConfirmAsync(pageB, code);
        Assert.Equal(403, refused.Status);
        const string OtherSession = "invalid device web confirmation: it was made for another web console session";
        Assert.Equal(OtherSession, await pageB.Locator("#message").InnerTextAsync());
        AuditTrail.IsRefusal(await AuditTrail.LastAsync(_auditor, "device.web_confirm", e => e.User == name), StatusCode.PermissionDenied, OtherSession);
        await pageB.GotoAsync("/devices/mine");
        Assert.Equal("shield yellow", await pageB.Locator("#shield").GetAttributeAsync("class"));

        // The device ceremony from another address than the browser's: refused before any challenge, with both addresses.
        var address = DeviceTrust.Client.Devices.DeviceWebAddress.Parse(await WebTokenAddressAsync(pageA));
        var profile = new ProfileStore(device.Home).Load()!;
        var credentials = new DeviceTrust.Client.Devices.DeviceCredentialStore(device.Home);
        using (var elsewhere = Client.Connection.GatewayChannel.Create(profile.Proxy, profile.Ca, profile.CertificateWithKey(), System.Net.IPAddress.Parse("127.0.0.9")))
        using (var key = credentials.LoadKey())
        {
            var mismatch = await Refusals.Of(() => DeviceTrust.Client.Devices.DeviceCeremonies.AuthenticateForWebAsync(elsewhere, credentials.Enrolled!.DeviceId,
                credentials.Enrolled.CredentialId, key, LinuxDeviceData.Now(credentials.Enrolled.AssetTag, "alice"), address.Token, default));
            const string Mismatch = "device web authentication IP mismatch (want 127.0.0.1, got 127.0.0.9)";
            Refusals.Is(StatusCode.PermissionDenied, Mismatch, mismatch);
            AuditTrail.IsRefusal(await AuditTrail.LastAsync(_auditor, "device.web_authenticate", e => e.User == name), StatusCode.PermissionDenied, Mismatch);
        }
        await pageA.GotoAsync("/devices/mine");
        Assert.Equal("shield yellow", await pageA.Locator("#shield").GetAttributeAsync("class"));

        // Another user cannot spend this user's token (and it stays unspent for its owner).
        var (other, _, otherDevice, _) = await EnrolledUserAsync();
        var mine = await WebTokenAddressAsync(pageA);
        (await otherDevice.Dtsh("device", "web-authenticate", mine)).FailedWith($"invalid device web token: issued to another user ({name})");
        AuditTrail.IsRefusal(await AuditTrail.LastAsync(_auditor, "device.web_authenticate", e => e.User == other), StatusCode.PermissionDenied,
            $"invalid device web token: issued to another user ({name})");
        (await device.Dtsh("device", "web-authenticate", mine)).Succeeded();
    }

    [Fact]
    public async Task Device_web_tokens_are_rate_limited_per_user_with_the_reason_and_when_to_retry()
    {
        var (name, password, _, _) = await EnrolledUserAsync();
        await using var context = await cluster.NewContextAsync();
        var page = await WebConsoleCluster.LogInAsync(context, name, password);
        var since = DateTimeOffset.UtcNow.AddSeconds(-1);
        for (var i = 0; i < 10; i++)
        {
            await WebTokenAddressAsync(page);
        }
        await page.GotoAsync("/devices/web-authenticate");
        var refused = await page.RunAndWaitForResponseAsync(() => page.GetByRole(AriaRole.Button, new() { Name = "Authenticate this device" }).ClickAsync(),
            r => r.Url.Contains("/devices/web-authenticate", StringComparison.Ordinal) && r.Request.Method == "POST");

        Assert.Equal(429, refused.Status);
        Assert.True(int.TryParse(await refused.HeaderValueAsync("retry-after"), out var retry) && retry is > 0 and <= 60, "Retry-After in seconds");
        const string Reason = "too many device web tokens for your user (WebTokensPerUser): try again in ";
        Assert.StartsWith(Reason, await page.Locator("#message").InnerTextAsync(), StringComparison.Ordinal);
        Assert.Equal(0, await page.Locator("#command").CountAsync());
        var limited = await AuditTrail.LastAsync(_auditor, AuditCodes.RateLimited, e => e.User == name);
        Assert.False(limited.Success);
        Assert.Equal(nameof(StatusCode.ResourceExhausted), limited.Status);
        Assert.StartsWith(Reason, limited.Message, StringComparison.Ordinal);
        // nothing was made for the eleventh ask: ten tokens, each audited
        Assert.Equal(10, (await AuditTrail.EventsAsync(_auditor, AuditCodes.DeviceWebTokenCreate, since, user: name)).Count(e => e.Success));
    }

    [Fact]
    public async Task Dtsh_refuses_an_address_that_is_not_a_device_web_authentication_one_before_it_connects()
    {
        var (_, _, device, _) = await EnrolledUserAsync();
        var token = Core.Secrets.SecretToken.New();
        string[] bad =
        [
            "https://web-authenticate?cluster=x&token=" + token,
            "devicetrust://evil.example?cluster=x&token=" + token,
            "devicetrust://web-authenticate?cluster=x&token=short",
            "devicetrust://web-authenticate?cluster=x&token=" + token + "&proxy=evil.example:443",
            "devicetrust://web-authenticate?token=" + token,
        ];
        foreach (var address in bad)
        {
            Assert.Contains("ERROR: ", (await device.Dtsh("device", "web-authenticate", address)).StdErr, StringComparison.Ordinal);
        }
        (await device.Dtsh("device", "web-authenticate", "devicetrust://web-authenticate?cluster=another&token=" + token))
            .FailedWith("the address is for cluster \"another\"");
    }

    /// <summary>
    /// A plain HTTPS client of the console connecting from <paramref name="source"/>, trusting only the cluster CA, that
    /// sends <paramref name="proxyHeader"/> first on each connection (as a TCP load balancer would) when given.
    /// </summary>
    private HttpClient ConsoleFrom(string source, byte[]? proxyHeader = null)
    {
        var ca = new ProfileStore(cluster.Admin.Home).Load()!.Ca;
        var handler = new SocketsHttpHandler
        {
            CookieContainer = new System.Net.CookieContainer(),
            AllowAutoRedirect = false,
            ConnectCallback = async (context, cancellationToken) =>
            {
                var socket = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
                socket.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Parse(source), 0));
                await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
                var stream = new System.Net.Sockets.NetworkStream(socket, ownsSocket: true);
                if (proxyHeader is not null)
                {
                    await stream.WriteAsync(proxyHeader, cancellationToken);
                }
                return stream;
            },
            SslOptions = ClusterCa.Trusting(ca),
        };
        return new HttpClient(handler) { BaseAddress = new Uri(cluster.Url) };
    }

    /// <summary>A wrong password through the login form, with an X-Forwarded-For header if given, from <paramref name="source"/>.</summary>
    private async Task<HttpResponseMessage> WrongPasswordAsync(string source, string user, string? forwardedFor, byte[]? proxyHeader = null)
    {
        using var http = ConsoleFrom(source, proxyHeader);
        var form = await http.GetStringAsync("/login");
        var token = System.Text.RegularExpressions.Regex.Match(form, "name=\"csrf\" value=\"([^\"]+)\"").Groups[1].Value;
        using var post = new HttpRequestMessage(HttpMethod.Post, "/login")
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["csrf"] = token, ["user"] = user, ["password"] = "not the password" }),
        };
        if (forwardedFor is not null)
        {
            post.Headers.Add("X-Forwarded-For", forwardedFor);
        }
        return await http.SendAsync(post);
    }

    [Fact]
    public async Task X_forwarded_for_names_the_client_only_when_a_configured_proxy_sends_it()
    {
        var (name, _, _) = await cluster.NewUserAsync("access");
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, (await WrongPasswordAsync(WebConsoleCluster.TrustedProxy, name, "198.51.100.7")).StatusCode);
        Assert.Equal("198.51.100.7", (await AuditTrail.LastAsync(_auditor, "user.login", e => e.User == name)).ClientIp);
        // Anyone else's header is ignored, loopback included: the audit keeps the real peer.
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, (await WrongPasswordAsync("127.0.0.1", name, "198.51.100.8")).StatusCode);
        Assert.Equal("127.0.0.1", (await AuditTrail.LastAsync(_auditor, "user.login", e => e.User == name)).ClientIp);
    }

    [Fact]
    public async Task A_tcp_load_balancer_names_the_client_with_the_proxy_protocol_and_nobody_else_can()
    {
        var (name, _, _) = await cluster.NewUserAsync("access");
        async Task<string> LoginAddressAsync() => (await AuditTrail.LastAsync(_auditor, "user.login", e => e.User == name)).ClientIp;

        // Version 1 (a text line) and version 2 (binary) from the balancer: the client they name is the peer.
        var v1 = "PROXY TCP4 198.51.100.20 127.0.0.1 50000 3025\r\n"u8.ToArray();
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, (await WrongPasswordAsync(WebConsoleCluster.Balancer, name, null, v1)).StatusCode);
        Assert.Equal("198.51.100.20", await LoginAddressAsync());
        byte[] v2 = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A, 0x21, 0x11, 0x00, 0x0C, 203, 0, 113, 9, 127, 0, 0, 1, 0xC3, 0x50, 0x0B, 0xD1];
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, (await WrongPasswordAsync(WebConsoleCluster.Balancer, name, null, v2)).StatusCode);
        Assert.Equal("203.0.113.9", await LoginAddressAsync());

        // The balancer without a header: the connection is closed, and that is recorded with the reason.
        await Assert.ThrowsAsync<HttpRequestException>(() => WrongPasswordAsync(WebConsoleCluster.Balancer, name, null));
        var closed = await AuditTrail.EventuallyAsync(_auditor, AuditCodes.ConnectionRefused, e => e.ClientIp == WebConsoleCluster.Balancer);
        AuditTrail.IsRefusal(closed, StatusCode.InvalidArgument,
            $"a connection from load balancer {WebConsoleCluster.Balancer} was closed: the connection does not start with a PROXY protocol header");

        // Anyone else's header is not believed: the bytes are not TLS and the connection fails; no login happened.
        var spoofed = "PROXY TCP4 198.51.100.21 127.0.0.1 50000 3025\r\n"u8.ToArray();
        await Assert.ThrowsAsync<HttpRequestException>(() => WrongPasswordAsync(WebConsoleCluster.TrustedProxy, name, null, spoofed));
        Assert.Equal("203.0.113.9", await LoginAddressAsync());
        Assert.DoesNotContain(await AuditTrail.EventsAsync(_auditor, "", DateTimeOffset.UtcNow.AddMinutes(-5)), e => e.ClientIp == "198.51.100.21");
    }

    [Fact]
    public async Task The_administration_pages_show_the_cluster_to_those_whose_roles_allow_it_and_only_to_them()
    {
        await using var context = await cluster.NewContextAsync();
        var page = await WebConsoleCluster.LogInAsync(context, "admin", GatewayCluster.AdminPassword);
        await page.GotoAsync("/users");
        Assert.Equal(1, await page.Locator("#users tbody tr", new() { HasText = "admin" }).CountAsync());
        await WebConsoleCluster.ScreenshotAsync(page, "users");
        await page.GotoAsync("/roles");
        Assert.Equal("editor (preset)", await page.Locator("#role-editor").InnerTextAsync());
        await page.GotoAsync("/locks");
        Assert.Equal(1, await page.Locator("h1", new() { HasText = "Locks" }).CountAsync());
        await page.GotoAsync("/nodes");
        Assert.Equal(1, await page.Locator("h1", new() { HasText = "Nodes" }).CountAsync());
        await page.GotoAsync("/settings");
        Assert.Contains("Device trust mode\noptional", await page.Locator("#settings").InnerTextAsync(), StringComparison.Ordinal);
        await WebConsoleCluster.ScreenshotAsync(page, "settings");

        // The inventory a page at a time: 60 more devices make at least two pages, each in asset tag order, none twice.
        var bulk = new Proto.V1.BulkCreateDevicesRequest();
        var prefix = "PG" + Guid.NewGuid().ToString("N")[..6].ToUpperInvariant();
        bulk.Devices.AddRange(Enumerable.Range(0, 60).Select(i => new Proto.V1.BulkDevice { OsType = Proto.V1.OSType.Linux, AssetTag = $"{prefix}{i:D3}" }));
        await new Proto.V1.DeviceTrustService.DeviceTrustServiceClient(_auditor).BulkCreateDevicesAsync(bulk);
        await page.GotoAsync("/devices");
        var first = await page.Locator("#devices tbody tr td:first-child").AllInnerTextsAsync();
        Assert.Equal(50, first.Count);
        await page.Locator("#next-page").ClickAsync();
        var second = await page.Locator("#devices tbody tr td:first-child").AllInnerTextsAsync();
        Assert.NotEmpty(second);
        Assert.True(string.CompareOrdinal(first[^1], second[0]) < 0, $"page 2 starts at {second[0]}, after page 1's {first[^1]}");
        Assert.Empty(first.Intersect(second));

        // Someone with the access role sees only everyone's pages, and is refused the others with the reason, audited.
        var (name, _, password) = await cluster.NewUserAsync("access");
        await using var other = await cluster.NewContextAsync();
        var theirs = await WebConsoleCluster.LogInAsync(other, name, password);
        // (the access role lists nodes, as dtsh ls does)
        Assert.Equal(["My devices", "Access check", "Nodes"], await theirs.Locator("nav a").AllInnerTextsAsync());
        foreach (var (path, code, what) in new[] { ("/users", "user.list", "list user"), ("/roles", "role.list", "list role"), ("/settings", "cluster_config.get", "read cluster_config") })
        {
            var answer = await theirs.GotoAsync(path);
            Assert.Equal(403, answer!.Status);
            var reason = $"access denied: user \"{name}\" may not {what} (roles: access)";
            Assert.Equal(reason, await theirs.Locator("#message").InnerTextAsync());
            AuditTrail.IsRefusal(await AuditTrail.LastAsync(_auditor, code, e => e.User == name), StatusCode.PermissionDenied, reason);
        }
    }
}
