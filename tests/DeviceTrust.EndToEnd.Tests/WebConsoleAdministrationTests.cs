using Deque.AxeCore.Playwright;
using DeviceTrust.Client.Profiles;
using DeviceTrust.Core.Audit;
using Grpc.Core;
using Microsoft.Playwright;

namespace DeviceTrust.EndToEnd.Tests;

/// <summary>
/// What an administrator does from the console instead of dtctl: enrollment tokens, unenroll, locks, delete, role YAML.
/// Each action is held to its RPC's verb, checks and audit code, with <c>via: web</c> in the event.
/// </summary>
[Collection(WebConsoleCollection.Name)]
public sealed class WebConsoleAdministrationTests(WebConsoleCluster cluster) : IDisposable
{
    private readonly Grpc.Net.Client.GrpcChannel _auditor = Client.Connection.GatewayChannel.ForProfile(new ProfileStore(cluster.Admin.Home).Load()!);

    public void Dispose() => _auditor.Dispose();

    private static string NewTag(string prefix) => prefix + Guid.NewGuid().ToString("N")[..10].ToUpperInvariant();

    private Proto.V1.DeviceTrustService.DeviceTrustServiceClient Devices => new(_auditor);

    private async Task<Proto.V1.Device?> FindAsync(string tag) =>
        (await Devices.FindDevicesAsync(new Proto.V1.FindDevicesRequest { IdOrTag = tag })).Devices.SingleOrDefault();

    /// <summary>Finds the device in the console's search and opens its page, as a person would.</summary>
    private static async Task OpenDeviceAsync(IPage page, string tag)
    {
        await page.GotoAsync("/devices");
        await page.GetByLabel("Asset tag or device id").FillAsync(tag);
        await page.GetByRole(AriaRole.Button, new() { Name = "Find" }).ClickAsync();
        await page.GetByRole(AriaRole.Link, new() { Name = tag }).ClickAsync();
        Assert.Equal($"Device {tag}", await page.Locator("h1").InnerTextAsync());
    }

    private static void ViaWeb(Proto.V1.AuditEvent e) => Assert.Contains("\"via\":\"web\"", e.Details, StringComparison.Ordinal);

    [Fact]
    public async Task An_admin_makes_a_token_the_device_enrolls_with_then_unenrolls_locks_and_deletes_it_from_the_device_page()
    {
        var tag = NewTag("WA");
        (await cluster.Admin.Dtctl("devices", "add", "--os", "linux", "--asset-tag", tag)).Succeeded();
        await using var context = await cluster.NewContextAsync();
        var page = await WebConsoleCluster.LogInAsync(context, "admin", GatewayCluster.AdminPassword);
        await OpenDeviceAsync(page, tag);
        var url = page.Url;

        // The token, shown once in the answer to the form, never in a URL; an ordinary look at the page later has none.
        await page.GetByLabel("Enrollment token valid for").SelectOptionAsync("1d");
        var made = await page.RunAndWaitForResponseAsync(() => page.GetByRole(AriaRole.Button, new() { Name = "Create enrollment token" }).ClickAsync(),
            r => r.Request.Method == "POST");
        Assert.Equal(200, made.Status);
        Assert.Equal("no-store", await made.HeaderValueAsync("cache-control"));
        var command = await page.Locator("#enroll-command").InnerTextAsync();
        Assert.StartsWith("dtsh device enroll --token=", command, StringComparison.Ordinal);
        var token = command["dtsh device enroll --token=".Length..];
        Assert.True(Core.Secrets.SecretToken.LooksValid(token));
        Assert.DoesNotContain(token, page.Url, StringComparison.Ordinal);
        await WebConsoleCluster.ScreenshotAsync(page, "device-enroll-token");
        var created = await AuditTrail.LastAsync(_auditor, AuditCodes.DeviceTokenCreate, e => e.AssetTag == tag);
        Assert.True(created.Success, created.Message);
        Assert.Equal("admin", created.User);
        Assert.StartsWith($"enrollment token created for {tag}/linux, expires ", created.Message, StringComparison.Ordinal);
        ViaWeb(created);
        Assert.DoesNotContain(token, created.ToString(), StringComparison.Ordinal);
        await page.GotoAsync(url);
        Assert.Equal(0, await page.Locator("#enroll-token").CountAsync());

        // The device enrolls with it through the real dtsh.
        var (_, cli, _) = await cluster.NewUserAsync("access");
        var data = cluster.Path($"device-{tag}.json");
        await File.WriteAllTextAsync(data, $$"""{ "serialNumber": "{{tag}}", "osVersion": "12", "modelIdentifier": "TestBook1,1" }""");
        (await cli.With("DTSH_DEVICE_DATA", data).Dtsh("device", "enroll", "--token=" + token, "--software-key")).Succeeded();
        await page.ReloadAsync();
        Assert.Contains("Status\nenrolled", await page.Locator("#device").InnerTextAsync(), StringComparison.Ordinal);
        Assert.Equal(0, await page.Locator("#enroll-token-form").CountAsync()); // an enrolled device gets no token

        // Unenroll: the box must be ticked (the browser insists, and so does the server).
        await page.GetByLabel($"Unenroll {tag}: its credential is forgotten and it must enroll again").CheckAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Unenroll" }).ClickAsync();
        Assert.EndsWith("?done=unenrolled", page.Url, StringComparison.Ordinal);
        Assert.Equal("The device was unenrolled: its certificates no longer carry a trusted device.", await page.Locator("#done").InnerTextAsync());
        Assert.Contains("Status\nnot enrolled", await page.Locator("#device").InnerTextAsync(), StringComparison.Ordinal);
        Assert.Equal(Proto.V1.DeviceEnrollStatus.NotEnrolled, (await FindAsync(tag))!.EnrollStatus);
        var unenrolled = await AuditTrail.LastAsync(_auditor, AuditCodes.DeviceUpdate, e => e.AssetTag == tag);
        Assert.True(unenrolled.Success, unenrolled.Message);
        Assert.Equal($"device {tag}/linux unenrolled", unenrolled.Message);
        ViaWeb(unenrolled);

        // Lock it for a day; the locks page shows it, and removes it.
        await page.GetByLabel("Lock message (the reason people will see)").FillAsync("lost on a train");
        await page.Locator("#lock-ttl").SelectOptionAsync("1d");
        await page.GetByRole(AriaRole.Button, new() { Name = "Lock this device" }).ClickAsync();
        Assert.EndsWith("?done=locked", page.Url, StringComparison.Ordinal);
        var locked = await AuditTrail.LastAsync(_auditor, AuditCodes.LockCreate, e => e.AssetTag == tag || e.Target.EndsWith(tag, StringComparison.Ordinal));
        Assert.True(locked.Success, locked.Message);
        ViaWeb(locked);
        Assert.Contains("\"message\":\"lost on a train\"", locked.Details, StringComparison.Ordinal);
        await page.GotoAsync("/locks");
        var row = page.Locator("#locks tbody tr", new() { HasText = tag });
        Assert.Contains("lost on a train", await row.InnerTextAsync(), StringComparison.Ordinal);
        await WebConsoleCluster.ScreenshotAsync(page, "locks");
        await row.GetByRole(AriaRole.Button, new() { Name = "Remove" }).ClickAsync();
        Assert.EndsWith("/locks?done=removed", page.Url, StringComparison.Ordinal);
        Assert.Equal(0, await page.Locator("#locks tbody tr", new() { HasText = tag }).CountAsync());
        var removed = await AuditTrail.LastAsync(_auditor, AuditCodes.LockDelete, e => e.Target.EndsWith(tag, StringComparison.Ordinal));
        Assert.True(removed.Success, removed.Message);
        ViaWeb(removed);

        // Delete: gone from the inventory, and the list says so.
        await page.GotoAsync(url);
        await page.GetByLabel($"Delete {tag} from the inventory, with its credential").CheckAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Delete" }).ClickAsync();
        Assert.EndsWith("/devices?done=deleted", page.Url, StringComparison.Ordinal);
        Assert.NotNull(await page.Locator("#done").TextContentAsync());
        Assert.Null(await FindAsync(tag));
        var deleted = await AuditTrail.LastAsync(_auditor, AuditCodes.DeviceDelete, e => e.AssetTag == tag);
        Assert.True(deleted.Success, deleted.Message);
        Assert.Equal($"device {tag}/linux removed from the inventory", deleted.Message);
        ViaWeb(deleted);
        var gone = await page.GotoAsync(url);
        Assert.Equal(404, gone!.Status);
    }

    [Fact]
    public async Task An_action_the_roles_do_not_allow_a_forged_form_and_an_unticked_box_are_refused_and_change_nothing()
    {
        var tag = NewTag("WR");
        (await cluster.Admin.Dtctl("devices", "add", "--os", "linux", "--asset-tag", tag)).Succeeded();
        var id = (await FindAsync(tag))!.Id;

        // Someone with the access role posts the delete form with their own session's token: refused by the role, audited.
        var (name, _, password) = await cluster.NewUserAsync("access");
        await using var theirs = await cluster.NewContextAsync();
        var page = await WebConsoleCluster.LogInAsync(theirs, name, password);
        var csrf = await WebConsoleCluster.CsrfTokenAsync(page);
        var denied = await theirs.APIRequest.PostAsync($"/devices/{id}?handler=delete", new APIRequestContextOptions
        {
            Form = theirs.APIRequest.CreateFormData().Set("csrf", csrf).Set("confirm", "yes"),
            MaxRedirects = 0,
        });
        Assert.Equal(403, denied.Status);
        var reason = $"access denied: user \"{name}\" may not delete device (roles: access)";
        Assert.Contains(reason.Replace("\"", "&quot;", StringComparison.Ordinal), await denied.TextAsync(), StringComparison.Ordinal);
        var refused = await AuditTrail.LastAsync(_auditor, AuditCodes.DeviceDelete, e => e.User == name);
        AuditTrail.IsRefusal(refused, StatusCode.PermissionDenied, reason);
        ViaWeb(refused);
        Assert.NotNull(await FindAsync(tag));
        // (and the page offers them no actions at all: they may not even read the device)
        Assert.Equal(403, (await page.GotoAsync($"/devices/{id}"))!.Status);

        // The admin's own form without the session's token (a cross-site post): refused before anything runs.
        await using var admin = await cluster.NewContextAsync();
        var adminPage = await WebConsoleCluster.LogInAsync(admin, "admin", GatewayCluster.AdminPassword);
        var forged = await admin.APIRequest.PostAsync($"/devices/{id}?handler=delete", new APIRequestContextOptions
        {
            Form = admin.APIRequest.CreateFormData().Set("csrf", "forged").Set("confirm", "yes"),
            MaxRedirects = 0,
        });
        Assert.Equal(403, forged.Status);
        AuditTrail.IsRefusal(await AuditTrail.LastAsync(_auditor, AuditCodes.WebCsrfRefused, e => e.User == "admin" && e.Message.Contains(id, StringComparison.Ordinal)),
            StatusCode.PermissionDenied, $"a form was posted to /devices/{id} without this session's CSRF token: refused");
        Assert.NotNull(await FindAsync(tag));

        // The admin's form with the token but without the box ticked: the server asks for it and deletes nothing.
        var unticked = await admin.APIRequest.PostAsync($"/devices/{id}?handler=delete", new APIRequestContextOptions
        {
            Form = admin.APIRequest.CreateFormData().Set("csrf", await WebConsoleCluster.CsrfTokenAsync(adminPage)),
            MaxRedirects = 0,
        });
        Assert.Equal(400, unticked.Status);
        Assert.Contains("tick the box to confirm, then send the form again", await unticked.TextAsync(), StringComparison.Ordinal);
        Assert.NotNull(await FindAsync(tag));

        // A lock on a user who does not exist: the cluster's reason, audited, and no lock.
        await adminPage.GotoAsync("/locks");
        var before = await adminPage.Locator("#locks tbody tr").CountAsync();
        await adminPage.GetByLabel("Lock a").SelectOptionAsync("user");
        await adminPage.GetByLabel("Name, asset tag or id").FillAsync("nobody-" + tag.ToLowerInvariant());
        var missing = await adminPage.RunAndWaitForResponseAsync(() => adminPage.GetByRole(AriaRole.Button, new() { Name = "Lock", Exact = true }).ClickAsync(),
            r => r.Request.Method == "POST");
        Assert.Equal(404, missing.Status);
        var notFound = await AuditTrail.LastAsync(_auditor, AuditCodes.LockCreate, e => e.User == "admin" && !e.Success);
        Assert.Equal(notFound.Message, await adminPage.Locator("#message").InnerTextAsync());
        Assert.Contains("nobody-" + tag.ToLowerInvariant(), notFound.Message, StringComparison.Ordinal);
        Assert.Equal(nameof(StatusCode.NotFound), notFound.Status);
        await adminPage.GotoAsync("/locks");
        Assert.Equal(before, await adminPage.Locator("#locks tbody tr").CountAsync());
    }

    [Fact]
    public async Task Role_yaml_is_edited_in_the_console_with_the_cli_s_validation_and_nothing_changes_until_it_is_valid()
    {
        var role = "web-role-" + Guid.NewGuid().ToString("N")[..8];
        await using var context = await cluster.NewContextAsync();
        var page = await WebConsoleCluster.LogInAsync(context, "admin", GatewayCluster.AdminPassword);
        await page.GotoAsync("/roles");
        await page.Locator("#new-role").ClickAsync();
        Assert.Equal("New role", await page.Locator("h1").InnerTextAsync());
        // A long comment makes the form larger than the console's usual 16 KiB: the editor takes a role document at its largest.
        var comment = string.Concat(Enumerable.Repeat("# the on-call team's role, reviewed every quarter\n", 600));
        var yaml = $"{comment}kind: role\nmetadata:\n  name: {role}\nspec:\n  allow:\n    logins: [oncall]\n    node_labels: {{env: staging}}\n";
        await page.GetByLabel("Role YAML").FillAsync(yaml);
        var saved = await page.RunAndWaitForResponseAsync(() => page.GetByRole(AriaRole.Button, new() { Name = "Save" }).ClickAsync(), r => r.Request.Method == "POST");
        Assert.True(saved.Status == 302, $"{saved.Status}: {await page.ContentAsync()}");
        Assert.Contains("/roles?done=saved", page.Url, StringComparison.Ordinal);
        Assert.Contains("- oncall", await page.Locator(".role", new() { Has = page.Locator($"#role-{role}") }).InnerTextAsync(), StringComparison.Ordinal);
        var created = await AuditTrail.LastAsync(_auditor, AuditCodes.RoleCreate, e => e.Target == "role/" + role);
        Assert.True(created.Success, created.Message);
        Assert.Equal($"role {role} created", created.Message);
        ViaWeb(created);
        var stored = (await cluster.Admin.Dtctl("roles", "get", role)).Succeeded().StdOut;
        Assert.Contains("- oncall", stored, StringComparison.Ordinal);

        // Malformed YAML: the parser's reason with its line, the text kept in the editor, the role as it was, audited.
        await page.GetByRole(AriaRole.Link, new() { Name = $"Edit role {role}" }).ClickAsync();
        Assert.Equal($"Edit role {role}", await page.Locator("h1").InnerTextAsync());
        var broken = $"kind: role\nmetadata:\n  name: {role}\nspec:\n  allow:\n    logins: [oncall\n";
        await page.GetByLabel("Role YAML").FillAsync(broken);
        var invalid = await page.RunAndWaitForResponseAsync(() => page.GetByRole(AriaRole.Button, new() { Name = "Save" }).ClickAsync(), r => r.Request.Method == "POST");
        Assert.Equal(400, invalid.Status);
        var error = await page.Locator("#error").InnerTextAsync();
        Assert.Contains("line", error, StringComparison.Ordinal);
        Assert.Equal(broken, await page.GetByLabel("Role YAML").InputValueAsync());
        await WebConsoleCluster.ScreenshotAsync(page, "role-edit-error");
        var refused = await AuditTrail.LastAsync(_auditor, AuditCodes.RoleCreate, e => e.Target == "role/" + role);
        AuditTrail.IsRefusal(refused, StatusCode.InvalidArgument, error);
        ViaWeb(refused);
        Assert.Equal(stored, (await cluster.Admin.Dtctl("roles", "get", role)).Succeeded().StdOut);

        // An edit never renames: that would leave the old role and make a new one behind the editor's back.
        await page.GetByLabel("Role YAML").FillAsync(yaml.Replace($"name: {role}", $"name: {role}-renamed", StringComparison.Ordinal));
        var renamed = await page.RunAndWaitForResponseAsync(() => page.GetByRole(AriaRole.Button, new() { Name = "Save" }).ClickAsync(), r => r.Request.Method == "POST");
        Assert.Equal(400, renamed.Status);
        var rename = $"the edit renames role \"{role}\" to \"{role}-renamed\": nothing was changed; make a new role for a new name";
        Assert.Equal(rename, await page.Locator("#error").InnerTextAsync());
        AuditTrail.IsRefusal(await AuditTrail.LastAsync(_auditor, AuditCodes.RoleCreate, e => e.Target == "role/" + role), StatusCode.InvalidArgument, rename);
        (await cluster.Admin.Dtctl("roles", "get", role + "-renamed")).FailedWith("not found");
        Assert.Equal(stored, (await cluster.Admin.Dtctl("roles", "get", role)).Succeeded().StdOut);

        // A valid edit replaces it, with the change in the audit.
        await page.GetByLabel("Role YAML").FillAsync(yaml.Replace("[oncall]", "[oncall, deploy]", StringComparison.Ordinal));
        await page.GetByRole(AriaRole.Button, new() { Name = "Save" }).ClickAsync();
        Assert.Contains("/roles?done=saved", page.Url, StringComparison.Ordinal);
        var replaced = await AuditTrail.LastAsync(_auditor, AuditCodes.RoleUpdate, e => e.Target == "role/" + role);
        Assert.True(replaced.Success, replaced.Message);
        Assert.Equal($"role {role} replaced", replaced.Message);
        Assert.Contains("- deploy", (await cluster.Admin.Dtctl("roles", "get", role)).Succeeded().StdOut, StringComparison.Ordinal);
        ViaWeb(replaced);

        // The admin may not edit away their own right to edit roles.
        await page.GotoAsync("/roles/edit?name=editor");
        var editor = await page.GetByLabel("Role YAML").InputValueAsync();
        await page.GetByLabel("Role YAML").FillAsync("kind: role\nmetadata:\n  name: editor\nspec:\n  allow:\n    logins: [root]\n");
        var lockout = await page.RunAndWaitForResponseAsync(() => page.GetByRole(AriaRole.Button, new() { Name = "Save" }).ClickAsync(), r => r.Request.Method == "POST");
        Assert.Equal(403, lockout.Status);
        const string SelfLockout = "you hold role editor: this change would take away your own right to edit roles; ask another administrator to make it";
        Assert.Equal(SelfLockout, await page.Locator("#error").InnerTextAsync());
        AuditTrail.IsRefusal(await AuditTrail.LastAsync(_auditor, AuditCodes.RoleCreate, e => e.Target == "role/editor"), StatusCode.PermissionDenied, SelfLockout);
        await page.GotoAsync("/roles/edit?name=editor");
        Assert.Equal(editor, await page.GetByLabel("Role YAML").InputValueAsync());

        // Delete it, with the box ticked.
        await page.GotoAsync("/roles/edit?name=" + role);
        await page.GetByLabel($"Delete role {role}: users who hold it lose what it allowed").CheckAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Delete role" }).ClickAsync();
        Assert.EndsWith("/roles?done=deleted", page.Url, StringComparison.Ordinal);
        Assert.Equal(0, await page.Locator($"#role-{role}").CountAsync());
        var deleted = await AuditTrail.LastAsync(_auditor, AuditCodes.RoleDelete, e => e.Target == "role/" + role);
        Assert.True(deleted.Success, deleted.Message);
        ViaWeb(deleted);
        (await cluster.Admin.Dtctl("roles", "get", role)).FailedWith("not found");
    }

    [Fact]
    public async Task Every_page_passes_axe_s_accessibility_rules()
    {
        var tag = NewTag("AX");
        (await cluster.Admin.Dtctl("devices", "add", "--os", "linux", "--asset-tag", tag)).Succeeded();
        await using var context = await cluster.NewContextAsync();
        var login = await context.NewPageAsync();
        await login.GotoAsync("/login");
        var failures = new List<string>();
        async Task CheckAsync(IPage page, string name)
        {
            var result = await page.RunAxe();
            failures.AddRange(result.Violations.Select(v =>
                $"{name}: {v.Id} ({v.Impact}) {v.Help}: {string.Join(", ", v.Nodes.Select(n => n.Target?.ToString()))}"));
        }
        await CheckAsync(login, "/login");
        var page = await WebConsoleCluster.LogInAsync(context, "admin", GatewayCluster.AdminPassword);
        foreach (var path in new[] { "/devices/mine", "/devices", "/access", "/audit", "/users", "/roles", "/roles/edit", "/roles/edit?name=editor", "/locks", "/nodes", "/settings", "/devices/web-authenticate" })
        {
            await page.GotoAsync(path);
            await CheckAsync(page, path);
        }
        await OpenDeviceAsync(page, tag);
        await CheckAsync(page, "a device");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create enrollment token" }).ClickAsync();
        await CheckAsync(page, "a device with its token");
        Assert.True(failures.Count == 0, string.Join("\n", failures));
        // (and the check sees a fault on our pages, under their CSP: an image without a text alternative)
        await page.EvaluateAsync("() => document.querySelector('main').appendChild(document.createElement('img'))");
        Assert.Contains((await page.RunAxe()).Violations, v => v.Id == "image-alt");
    }
}
