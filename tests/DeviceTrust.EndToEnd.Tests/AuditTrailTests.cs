using System.Security.Cryptography;
using System.Text.Json;
using DeviceTrust.Client.Connection;
using DeviceTrust.Client.Devices;
using DeviceTrust.Client.Profiles;
using DeviceTrust.Proto.V1;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Net.Client;

namespace DeviceTrust.EndToEnd.Tests;

/// <summary>
/// Every state change through the API leaves an event with who and what changed; every refusal of an
/// authenticated call leaves one with the real reason; every ceremony ends in exactly one, whatever ends it.
/// </summary>
[Collection(SharedGatewayCollection.Name)]
public sealed class AuditTrailTests(SharedGateway shared) : IDisposable
{
    private readonly GrpcChannel _admin = GatewayChannel.ForProfile(new ProfileStore(shared.Admin.Home).Load()!);

    public void Dispose() => _admin.Dispose();

    private UserService.UserServiceClient Users => new(_admin);

    private static string NewName() => "a" + Guid.NewGuid().ToString("N")[..10];

    [Fact]
    public async Task Every_change_to_users_roles_and_config_is_audited_with_who_and_before_and_after()
    {
        var name = NewName();
        var created = await Users.CreateUserAsync(new CreateUserRequest { Name = name, Roles = { "access" } });
        var create = await AuditTrail.LastAsync(_admin, "user.create", e => e.Target == name);
        Assert.True(create.Success);
        Assert.Equal("admin", create.User);
        Assert.NotEmpty(create.UserId);
        Assert.Equal(created.User.Id, JsonDocument.Parse(create.Details).RootElement.GetProperty("user_id").GetString());
        Assert.DoesNotContain(created.InviteToken, create.Details + create.Message);

        await Users.UpdateUserAsync(new UpdateUserRequest { Name = name, SetRoles = { "access", "auditor" } });
        var update = await AuditTrail.LastAsync(_admin, "user.update", e => e.Target == name);
        Assert.Contains("\"roles\":{\"before\":[\"access\"],\"after\":[\"access\",\"auditor\"]}", update.Details);

        var role = "r" + NewName();
        var roles = new RoleService.RoleServiceClient(_admin);
        await roles.CreateRoleAsync(new CreateRoleRequest { Yaml = $"kind: role\nmetadata: {{name: {role}}}\nspec: {{allow: {{rules: {{user: [list]}}}}}}" });
        await roles.CreateRoleAsync(new CreateRoleRequest { Yaml = $"kind: role\nmetadata: {{name: {role}}}\nspec: {{allow: {{rules: {{audit: [list]}}}}}}", Overwrite = true });
        await roles.DeleteRoleAsync(new DeleteRoleRequest { Name = role });
        Assert.Contains("user:", (await AuditTrail.LastAsync(_admin, "role.create", e => e.Target == "role/" + role)).Details);
        var replaced = JsonDocument.Parse((await AuditTrail.LastAsync(_admin, "role.update", e => e.Target == "role/" + role)).Details).RootElement.GetProperty("yaml");
        Assert.Contains("user:", replaced.GetProperty("before").GetString());
        Assert.Contains("audit:", replaced.GetProperty("after").GetString());
        Assert.True((await AuditTrail.LastAsync(_admin, "role.delete", e => e.Target == "role/" + role)).Success);

        var config = new ClusterConfigService.ClusterConfigServiceClient(_admin);
        await config.UpdateDeviceTrustConfigAsync(new UpdateDeviceTrustConfigRequest { MinAttestation = "tpm_ekpub_pinned" });
        try
        {
            var change = await AuditTrail.LastAsync(_admin, "cluster_config.update", e => e.Details.Contains("tpm_ekpub_pinned", StringComparison.Ordinal));
            Assert.Contains("\"min_attestation\":{\"before\":\"unspecified\",\"after\":\"tpm_ekpub_pinned\"}", change.Details);
            Assert.Equal("cluster_config", change.Target);
        }
        finally
        {
            await config.UpdateDeviceTrustConfigAsync(new UpdateDeviceTrustConfigRequest { MinAttestation = "unspecified" });
        }

        await Users.DeleteUserAsync(new DeleteUserRequest { Name = name });
        Assert.Contains(created.User.Id, (await AuditTrail.LastAsync(_admin, "user.delete", e => e.Target == name)).Details);
    }

    [Fact]
    public async Task A_change_the_callers_roles_do_not_allow_is_refused_changes_nothing_and_is_audited()
    {
        var (who, cli, _) = await shared.NewUserAsync("access");
        using var channel = GatewayChannel.ForProfile(new ProfileStore(cli.Home).Load()!);
        var victim = NewName();
        var error = await Refusals.Of(() => new UserService.UserServiceClient(channel).CreateUserAsync(new CreateUserRequest { Name = victim, Roles = { "editor" } }).ResponseAsync);
        var reason = $"access denied: user \"{who}\" may not create user (roles: access)";
        Refusals.Is(StatusCode.PermissionDenied, reason, error);
        Refusals.Is(StatusCode.NotFound, $"user \"{victim}\" not found", await Refusals.Of(() => Users.GetUserAsync(new GetUserRequest { Name = victim }).ResponseAsync));
        var audit = await AuditTrail.LastAsync(_admin, "user.create", e => e.User == who);
        AuditTrail.IsRefusal(audit, StatusCode.PermissionDenied, reason);
        Assert.Contains("\"rpc\":\"/devicetrust.v1.UserService/CreateUser\"", audit.Details);

        // reads are recorded when refused too
        var read = await Refusals.Of(() => new AuditService.AuditServiceClient(channel).ListAuditEventsAsync(new ListAuditEventsRequest()).ResponseAsync);
        Refusals.Is(StatusCode.PermissionDenied, $"access denied: user \"{who}\" may not list audit (roles: access)", read);
        AuditTrail.IsRefusal(await AuditTrail.LastAsync(_admin, "audit.list", e => e.User == who), StatusCode.PermissionDenied, read.Status.Detail);
    }

    private async Task<(Device Device, string Token)> NewDeviceAsync()
    {
        var serial = "AU" + Guid.NewGuid().ToString("N")[..10].ToUpperInvariant();
        var device = await new DeviceTrustService.DeviceTrustServiceClient(_admin).CreateDeviceAsync(
            new CreateDeviceRequest { OsType = OSType.Linux, AssetTag = serial, CreateEnrollToken = true });
        return (device, device.EnrollToken.Token);
    }

    private static DeviceCollectedData Data(string serial) => new() { OsType = OSType.Linux, SerialNumber = serial, OsVersion = "12" };

    private static EnrollDeviceRequest Init(string token, string serial, ECDsa key) => new()
    {
        Init = new EnrollDeviceInit
        {
            Token = token,
            CredentialId = "cred",
            DeviceData = Data(serial),
            Key = new KeyEnrollPayload { PublicKeyDer = ByteString.CopyFrom(key.ExportSubjectPublicKeyInfo()) },
        },
    };

    [Fact]
    public async Task A_ceremony_the_client_abandons_after_its_token_was_spent_is_audited_as_abandoned()
    {
        var (device, token) = await NewDeviceAsync();
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using (var cancel = new CancellationTokenSource())
        {
            using var call = new DeviceTrustService.DeviceTrustServiceClient(_admin).EnrollDevice(cancellationToken: cancel.Token);
            await call.RequestStream.WriteAsync(Init(token, device.AssetTag, key));
            Assert.True(await call.ResponseStream.MoveNext());
            Assert.NotEmpty(call.ResponseStream.Current.KeyChallenge.Challenge);
            await cancel.CancelAsync(); // the device goes away with the challenge unanswered
        }
        var audit = await AuditTrail.EventuallyAsync(_admin, "device.enroll", e => e.AssetTag == device.AssetTag);
        AuditTrail.IsRefusal(audit, StatusCode.Cancelled, "abandoned after the enrollment token (made by admin) was spent: the client went away before the end");
        Assert.Single(await AuditTrail.EventsAsync(_admin, "device.enroll", device: device.Id));
        // nothing enrolled, and the token is gone
        Assert.Equal(DeviceEnrollStatus.NotEnrolled, (await new DeviceTrustService.DeviceTrustServiceClient(_admin).GetDeviceAsync(new GetDeviceRequest { DeviceId = device.Id })).EnrollStatus);
        var again = await Refusals.Of(() => DeviceCeremonies.EnrollAsync(_admin, token, "cred", key, Data(device.AssetTag), default));
        Refusals.Is(StatusCode.PermissionDenied, "invalid device enrollment token", again);
        Assert.Equal("invalid device enrollment token: already spent", (await AuditTrail.LastAsync(_admin, "device.enroll", e => e.AssetTag == device.AssetTag)).Message);
    }

    [Fact]
    public async Task A_ceremony_that_fails_inside_the_cluster_is_audited_as_an_internal_error()
    {
        var (device, token) = await NewDeviceAsync();
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        // the database refuses to store this one device as enrolled: the grain's write fails inside the cluster
        var trigger = "fail_" + device.AssetTag.ToLowerInvariant();
        await SqlAsync($"""
            CREATE TRIGGER {trigger} BEFORE UPDATE ON grain_state
            WHEN json_extract(NEW.payload, '$.Device.AssetTag') = '{device.AssetTag}' AND json_extract(NEW.payload, '$.Device.EnrollStatus') = 'Enrolled'
            BEGIN SELECT RAISE(ABORT, 'injected storage failure'); END;
            """);
        try
        {
            var error = await Refusals.Of(() => DeviceCeremonies.EnrollAsync(_admin, token, "cred", key, Data(device.AssetTag), default));
            Refusals.Is(StatusCode.Internal, "internal error: the gateway log has the details", error);
        }
        finally
        {
            await SqlAsync($"DROP TRIGGER {trigger};");
        }
        var audit = await AuditTrail.LastAsync(_admin, "device.enroll", e => e.AssetTag == device.AssetTag);
        Assert.False(audit.Success);
        Assert.Equal("Internal", audit.Status);
        Assert.Matches(@"^internal error \(\w+\): the gateway log has the details$", audit.Message);
        Assert.Single(await AuditTrail.EventsAsync(_admin, "device.enroll", device: device.Id));
        Assert.Equal(DeviceEnrollStatus.NotEnrolled, (await new DeviceTrustService.DeviceTrustServiceClient(_admin).GetDeviceAsync(new GetDeviceRequest { DeviceId = device.Id })).EnrollStatus);
    }

    private async Task SqlAsync(string sql)
    {
        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(shared.Gateway.DataDirectory, "devicetrust.db")}");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    [Fact]
    public async Task Audit_ls_filters_by_code_user_result_and_time_and_prints_json_lines()
    {
        var (who, cli, _) = await shared.NewUserAsync("access");
        using var channel = GatewayChannel.ForProfile(new ProfileStore(cli.Home).Load()!);
        await Refusals.Of(() => new UserService.UserServiceClient(channel).DeleteUserAsync(new DeleteUserRequest { Name = "admin" }).ResponseAsync);
        var lines = (await shared.Admin.Dtctl("audit", "ls", "--since", "10m", "--type", "user.*", "--user", who, "--result", "failure", "-o", "json"))
            .Succeeded().StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var events = lines.Select(line => JsonDocument.Parse(line).RootElement).ToList();
        var refused = Assert.Single(events);
        Assert.Equal(("user.delete", false, who, "PermissionDenied"),
            (refused.GetProperty("type").GetString(), refused.GetProperty("success").GetBoolean(), refused.GetProperty("user").GetString(), refused.GetProperty("status").GetString()));
        Assert.Equal(JsonValueKind.Object, refused.GetProperty("details").ValueKind);
        // the invitation acceptance of the same user is a success and about them: left out by --result failure, there without it
        var all = (await shared.Admin.Dtctl("audit", "ls", "--since", "10m", "--user", who, "-o", "json")).Succeeded().StdOut;
        Assert.Contains("\"type\":\"user.invitation.accept\"", all);
        Assert.Contains("\"type\":\"user.create\"", all);
        Assert.Empty((await shared.Admin.Dtctl("audit", "ls", "--since", "10m", "--until", "9m", "--user", who, "-o", "json")).Succeeded().StdOut.Trim());
        (await shared.Admin.Dtctl("audit", "ls", "--type", "user.%")).FailedWith("type must be an event code like device.enroll, or a prefix ending in * like user.*");
    }
}
