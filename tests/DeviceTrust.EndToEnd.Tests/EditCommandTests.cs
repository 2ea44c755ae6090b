using DeviceTrust.Client.Connection;
using Grpc.Core;
using Grpc.Net.Client;

namespace DeviceTrust.EndToEnd.Tests;

/// <summary>
/// <c>dtctl roles edit</c> and <c>dtctl users edit</c> with a real <c>$EDITOR</c>: a script that writes what an
/// operator would have typed, so the whole round trip (fetch, temporary file, editor, validation, write) runs.
/// </summary>
[Collection(SharedGatewayCollection.Name)]
public sealed class EditCommandTests(SharedGateway shared) : IDisposable
{
    private readonly GrpcChannel _admin = GatewayChannel.ForProfile(shared.AdminProfile);

    public void Dispose() => _admin.Dispose();

    /// <summary>The admin's dtctl with an editor that replaces the file with <paramref name="replacement"/>.</summary>
    private Cli AdminEditingTo(string replacement)
    {
        var id = Guid.NewGuid().ToString("N")[..8];
        var content = shared.Path($"edit-{id}.yaml");
        File.WriteAllText(content, replacement);
        var script = shared.Path($"editor-{id}.sh");
        File.WriteAllText(script, $"#!/bin/sh\ncp \"{content}\" \"$1\"\n");
        File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return shared.Admin.With("VISUAL", null).With("EDITOR", script);
    }

    [Fact]
    public async Task Editing_the_access_preset_to_require_a_trusted_device_takes_effect_and_deleting_it_restores_the_preset()
    {
        var (bob, _, _) = await shared.NewUserAsync("access");
        var app = "grafana-" + bob;
        (await shared.Admin.Dtctl("access", "check", "--user", bob, "--kind", "app", "--name", app)).Succeeded();
        var shipped = (await shared.Admin.Dtctl("roles", "get", "access")).Succeeded().StdOut;
        Assert.DoesNotContain("device_trust_mode", shipped);
        var since = DateTimeOffset.UtcNow;
        try
        {
            var edited = shipped.TrimEnd() + "\n";
            edited = edited.Replace("spec:\n", "spec:\n  options:\n    device_trust_mode: required\n", StringComparison.Ordinal);
            Assert.Contains("device_trust_mode: required", edited);
            var result = (await AdminEditingTo(edited).Dtctl("roles", "edit", "access")).Succeeded();
            Assert.Contains("Role \"access\" has been updated", result.StdOut);
            Assert.Contains("device_trust_mode: required", (await shared.Admin.Dtctl("roles", "get", "access")).Succeeded().StdOut);
            Assert.Contains("access", (await shared.Admin.Dtctl("roles", "ls")).Succeeded().StdOut);
            var update = await AuditTrail.LastAsync(_admin, "role.update", e => e.Target == "role/access" && e.Time.ToDateTimeOffset() >= since.AddSeconds(-1));
            Assert.True(update.Success, update.ToString());
            // effective at once on this gateway: bob, without a trusted device, is now denied the app
            var denied = await shared.Admin.Dtctl("access", "check", "--user", bob, "--kind", "app", "--name", app);
            Assert.NotEqual(0, denied.ExitCode);
            Assert.Contains("Decision:       denied", denied.StdOut);
            Assert.Contains("requires a trusted device", denied.StdOut);
        }
        finally
        {
            (await shared.Admin.Dtctl("roles", "rm", "access")).Succeeded();
        }
        Assert.Equal(shipped, (await shared.Admin.Dtctl("roles", "get", "access")).Succeeded().StdOut);
        (await shared.Admin.Dtctl("access", "check", "--user", bob, "--kind", "app", "--name", app)).Succeeded();
        // an unedited preset still cannot be deleted
        (await shared.Admin.Dtctl("roles", "rm", "access")).FailedWith("role \"access\" is a preset role and cannot be deleted");
    }

    [Fact]
    public async Task A_role_edit_that_is_invalid_renames_the_role_or_locks_the_editor_out_is_refused_and_kept()
    {
        var editorRole = (await shared.Admin.Dtctl("roles", "get", "editor")).Succeeded().StdOut;

        var invalid = await AdminEditingTo("kind: role\nmetadata:\n  name: editor\nspec:\n  allow:\n    rules:\n      user: [list, fly]\n")
            .Dtctl("roles", "edit", "editor");
        invalid.FailedWith("line 7: unknown verb \"fly\" for resource user");
        Assert.Contains("Nothing was changed", invalid.StdErr);
        Assert.Contains("fly", File.ReadAllText(KeptFile(invalid.StdErr)));

        (await AdminEditingTo("kind: role\nmetadata:\n  name: editor2\nspec: {allow: {rules: {user: ['*']}}}\n").Dtctl("roles", "edit", "editor"))
            .FailedWith("the edit renames role \"editor\" to \"editor2\": nothing was changed");
        (await shared.Admin.Dtctl("roles", "get", "editor2")).FailedWith("role \"editor2\" not found");

        // the admin holds editor: dropping role rights from it would leave nobody able to undo the edit
        var since = DateTimeOffset.UtcNow.AddSeconds(-1);
        var lockout = await AdminEditingTo("kind: role\nmetadata:\n  name: editor\nspec: {allow: {rules: {user: ['*']}}}\n").Dtctl("roles", "edit", "editor");
        var reason = "you hold role editor: this change would take away your own right to edit roles; ask another administrator to make it";
        lockout.FailedWith(reason);
        Assert.Contains("Nothing was changed", lockout.StdErr);
        AuditTrail.IsRefusal(await AuditTrail.LastAsync(_admin, "role.create", e => e.Target == "role/editor" && e.Time.ToDateTimeOffset() >= since),
            StatusCode.PermissionDenied, reason);
        Assert.Equal(editorRole, (await shared.Admin.Dtctl("roles", "get", "editor")).Succeeded().StdOut);

        // saved without a change: nothing is written
        (await shared.Admin.With("VISUAL", null).With("EDITOR", "true").Dtctl("roles", "edit", "editor")).Succeeded();
        Assert.DoesNotContain(await AuditTrail.EventsAsync(_admin, "role.update", since), e => e.Target == "role/editor");
    }

    [Fact]
    public async Task Users_edit_changes_roles_only_and_nobody_edits_away_their_own_rights()
    {
        var (bob, _, _) = await shared.NewUserAsync("access");
        var since = DateTimeOffset.UtcNow.AddSeconds(-1);
        var result = (await AdminEditingTo($"kind: user\nmetadata:\n  name: {bob}\nspec:\n  kind: human\n  roles: [access, auditor]\n")
            .Dtctl("users", "edit", bob)).Succeeded();
        Assert.Contains($"User \"{bob}\" has been updated: roles access, auditor", result.StdOut);
        var update = await AuditTrail.LastAsync(_admin, "user.update", e => e.Target == bob && e.Time.ToDateTimeOffset() >= since);
        Assert.True(update.Success, update.ToString());

        (await AdminEditingTo($"kind: user\nmetadata:\n  name: {bob}x\nspec:\n  roles: [editor]\n").Dtctl("users", "edit", bob))
            .FailedWith($"metadata.name must stay \"{bob}\": a user cannot be renamed");
        (await AdminEditingTo($"kind: user\nmetadata:\n  name: {bob}\nspec:\n  kind: bot\n  roles: [editor]\n").Dtctl("users", "edit", bob))
            .FailedWith("spec.kind cannot be changed");
        (await AdminEditingTo($"kind: user\nmetadata:\n  name: {bob}\nspec:\n  roles: [access]\n  password: x\n").Dtctl("users", "edit", bob))
            .FailedWith("unknown field \"password\"");
        Assert.Contains("Roles:   access, auditor", (await shared.Admin.Dtctl("users", "get", bob)).Succeeded().StdOut);

        var lockoutSince = DateTimeOffset.UtcNow.AddSeconds(-1);
        var lockout = await AdminEditingTo("kind: user\nmetadata:\n  name: admin\nspec:\n  kind: human\n  roles: [access]\n").Dtctl("users", "edit", "admin");
        var reason = "these roles would take away your own right to change users' roles; ask another administrator to make this change";
        lockout.FailedWith(reason);
        Assert.Contains("Nothing was changed", lockout.StdErr);
        AuditTrail.IsRefusal(await AuditTrail.LastAsync(_admin, "user.update", e => e.Target == "admin" && e.Time.ToDateTimeOffset() >= lockoutSince),
            StatusCode.PermissionDenied, reason);
        Assert.Contains("editor", (await shared.Admin.Dtctl("users", "get", "admin")).Succeeded().StdOut);
    }

    /// <summary>The admin's dtctl with an editor that runs these sed expressions on the file, as an operator's edit would change a few lines.</summary>
    private Cli AdminEditingWith(params string[] expressions)
    {
        var script = shared.Path($"editor-{Guid.NewGuid().ToString("N")[..8]}.sh");
        File.WriteAllText(script, "#!/bin/sh\nsed -i " + string.Join(" ", expressions.Select(e => $"-e '{e}'")) + " \"$1\"\n");
        File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return shared.Admin.With("VISUAL", null).With("EDITOR", script);
    }

    /// <summary>A device enrolled by a new user (with a software key), and the user's name.</summary>
    private async Task<(string Serial, string Owner)> EnrolledDeviceAsync()
    {
        var (owner, cli, _) = await shared.NewUserAsync("access");
        var serial = "E" + Guid.NewGuid().ToString("N")[..11].ToUpperInvariant();
        var added = (await shared.Admin.Dtctl("devices", "add", "--os", "linux", "--asset-tag", serial, "--enroll")).Succeeded().StdOut;
        var token = added.Split('\n').Single(l => l.StartsWith("dtsh device enroll --token=", StringComparison.Ordinal))["dtsh device enroll --token=".Length..].Trim();
        var data = shared.Path($"device-{serial}.json");
        await File.WriteAllTextAsync(data, $$"""{ "serialNumber": "{{serial}}", "osVersion": "12", "modelIdentifier": "TestBook1,1" }""");
        (await cli.With("DTSH_DEVICE_DATA", data).Dtsh("device", "enroll", "--token=" + token, "--software-key")).Succeeded();
        return (serial, owner);
    }

    [Fact]
    public async Task Devices_edit_shares_a_device_sets_its_profile_and_unenrolls_it()
    {
        var (serial, _) = await EnrolledDeviceAsync();
        var (bob, _, _) = await shared.NewUserAsync("access");
        var since = DateTimeOffset.UtcNow.AddSeconds(-1);
        // Two changes in one edit: one update.
        var shared1 = (await AdminEditingWith($"s/users: \\[\\]/users: [{bob}]/", "s/model_identifier: .*/model_identifier: MacBookPro18,3/")
            .Dtctl("devices", "edit", serial)).Succeeded();
        Assert.Contains($"Device {serial}/linux has been updated: enrolled, users {bob}, EK not pinned", shared1.StdOut);
        var shown = (await shared.Admin.Dtctl("devices", "get", "--asset-tag", serial)).Succeeded().StdOut;
        Assert.Contains($"Users:         {bob}", shown, StringComparison.Ordinal);
        Assert.Contains("MDM profile:   model MacBookPro18,3, OS - build -", shown, StringComparison.Ordinal);
        Assert.True((await AuditTrail.LastAsync(_admin, "device.update", e => e.AssetTag == serial && e.Time.ToDateTimeOffset() >= since)).Success);
        Assert.Single(await AuditTrail.EventsAsync(_admin, "device.update", since, device: serial));

        // enroll_status: not_enrolled removes the credential, as dtctl devices unenroll does.
        (await AdminEditingWith("s/enroll_status: enrolled/enroll_status: not_enrolled/").Dtctl("devices", "edit", serial)).Succeeded();
        Assert.Contains("Enroll Status: not enrolled", (await shared.Admin.Dtctl("devices", "get", "--asset-tag", serial)).Succeeded().StdOut, StringComparison.Ordinal);
        Assert.Equal(2, (await AuditTrail.EventsAsync(_admin, "device.update", since, device: serial)).Count);

        // Saved unchanged: nothing is written.
        Assert.Contains($"Device {serial} is unchanged.",
            (await shared.Admin.With("VISUAL", null).With("EDITOR", "true").Dtctl("devices", "edit", serial)).Succeeded().StdOut, StringComparison.Ordinal);
        Assert.Equal(2, (await AuditTrail.EventsAsync(_admin, "device.update", since, device: serial)).Count);
    }

    [Fact]
    public async Task A_device_edit_of_what_may_not_change_or_naming_an_unknown_user_is_refused_whole_and_kept()
    {
        var (serial, owner) = await EnrolledDeviceAsync();
        var before = (await shared.Admin.Dtctl("devices", "get", "--asset-tag", serial)).Succeeded().StdOut;

        var renamed = await AdminEditingWith($"s/owner: {owner}/owner: mallory/").Dtctl("devices", "edit", serial);
        renamed.FailedWith($"spec.owner cannot be changed (it is \"{owner}\"): the owner is whoever enrolled it");
        Assert.Contains("Nothing was changed", renamed.StdErr);
        Assert.Contains("owner: mallory", File.ReadAllText(KeptFile(renamed.StdErr)));
        (await AdminEditingWith("s/asset_tag: .*/asset_tag: OTHER/").Dtctl("devices", "edit", serial))
            .FailedWith("metadata.asset_tag cannot be changed");
        (await AdminEditingWith("s/enroll_status: enrolled/enroll_status: gone/").Dtctl("devices", "edit", serial))
            .FailedWith("spec.enroll_status must be enrolled or not_enrolled");
        (await AdminEditingWith("s/owner:/colour: red\\n  owner:/").Dtctl("devices", "edit", serial))
            .FailedWith("unknown field \"colour\" in spec");

        // Refused by the gateway: an unknown user, edited together with the unenrollment; neither happens, audited.
        var since = DateTimeOffset.UtcNow.AddSeconds(-1);
        var unknown = await AdminEditingWith("s/enroll_status: enrolled/enroll_status: not_enrolled/", "s/users: \\[\\]/users: [nobody-at-all]/")
            .Dtctl("devices", "edit", serial);
        unknown.FailedWith("user \"nobody-at-all\" not found");
        Assert.Contains("Nothing was changed", unknown.StdErr);
        AuditTrail.IsRefusal(await AuditTrail.LastAsync(_admin, "device.update", e => e.DeviceId.Length > 0 && e.Time.ToDateTimeOffset() >= since && !e.Success),
            StatusCode.NotFound, "user \"nobody-at-all\" not found");
        Assert.Equal(before, (await shared.Admin.Dtctl("devices", "get", "--asset-tag", serial)).Succeeded().StdOut);

        // Not enrolled → enrolled is the ceremony's to do.
        (await AdminEditingWith("s/enroll_status: enrolled/enroll_status: not_enrolled/").Dtctl("devices", "edit", serial)).Succeeded();
        (await AdminEditingWith("s/enroll_status: not_enrolled/enroll_status: enrolled/").Dtctl("devices", "edit", serial))
            .FailedWith("spec.enroll_status cannot become enrolled here: a device enrolls only through its enrollment ceremony (dtsh device enroll)");
    }

    private static string KeptFile(string stderr)
    {
        var start = stderr.IndexOf(Path.GetTempPath() + "dtctl-rejected-", StringComparison.Ordinal);
        Assert.True(start >= 0, stderr);
        var end = stderr.IndexOf(".yaml", start, StringComparison.Ordinal) + ".yaml".Length;
        return stderr[start..end];
    }
}
