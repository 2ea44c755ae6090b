using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
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
/// Attacks and bad input on the ceremony streams, through the real gateway: each is refused with its reason, and
/// the audit log has an event with the real reason.
/// </summary>
[Collection(SharedGatewayCollection.Name)]
public sealed class CeremonyAttackTests(SharedGateway shared) : IDisposable
{
    private readonly GrpcChannel _admin = GatewayChannel.ForProfile(new ProfileStore(shared.Admin.Home).Load()!);
    private readonly ECDsa _key = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    public void Dispose()
    {
        _admin.Dispose();
        _key.Dispose();
    }

    private DeviceTrustService.DeviceTrustServiceClient Devices => new(_admin);

    private static string NewSerial() => "A" + Guid.NewGuid().ToString("N")[..11].ToUpperInvariant();

    private static DeviceCollectedData Data(string serial, string version = "12") => new()
    {
        CollectTime = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow),
        OsType = OSType.Linux,
        SerialNumber = serial,
        OsVersion = version,
    };

    private async Task<(Device Device, string Token)> NewDeviceAsync(TimeSpan? ttl = null)
    {
        var serial = NewSerial();
        var device = await Devices.CreateDeviceAsync(new CreateDeviceRequest
        {
            OsType = OSType.Linux,
            AssetTag = serial,
            CreateEnrollToken = true,
            EnrollTokenTtl = ttl is { } t ? Duration.FromTimeSpan(t) : null,
        });
        return (device, device.EnrollToken.Token);
    }

    private async Task<Device> EnrolledDeviceAsync()
    {
        var (device, token) = await NewDeviceAsync();
        return await DeviceCeremonies.EnrollAsync(_admin, token, "cred-" + device.AssetTag, _key, Data(device.AssetTag), default);
    }

    private async Task<AuditEvent> LastAuditAsync(string type, string assetTag)
    {
        var events = await new AuditService.AuditServiceClient(_admin).ListAuditEventsAsync(new ListAuditEventsRequest { Type = type, PageSize = 1000 });
        var page = events;
        var all = new List<AuditEvent>(page.Events);
        while (page.NextPageToken.Length > 0)
        {
            page = await new AuditService.AuditServiceClient(_admin).ListAuditEventsAsync(new ListAuditEventsRequest { Type = type, PageSize = 1000, PageToken = page.NextPageToken });
            all.AddRange(page.Events);
        }
        return all.Last(e => e.AssetTag == assetTag);
    }

    private static async Task<RpcException> RefusedAsync(Func<Task> ceremony) => await Assert.ThrowsAsync<RpcException>(ceremony);

    [Fact]
    public async Task Of_100_concurrent_enrollments_with_one_token_exactly_one_succeeds()
    {
        var (device, token) = await NewDeviceAsync();
        var results = await Task.WhenAll(Enumerable.Range(0, 100).Select(async i =>
        {
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            try
            {
                await DeviceCeremonies.EnrollAsync(_admin, token, $"cred-{i}", key, Data(device.AssetTag), default);
                return "ok";
            }
            catch (RpcException e)
            {
                return $"{e.StatusCode}: {e.Status.Detail}";
            }
        }));
        Assert.Single(results, r => r == "ok");
        Assert.Equal(99, results.Count(r => r == "PermissionDenied: invalid device enrollment token"));
    }

    [Fact]
    public async Task An_expired_token_is_refused()
    {
        var (device, token) = await NewDeviceAsync(TimeSpan.FromSeconds(1));
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        var error = await RefusedAsync(() => DeviceCeremonies.EnrollAsync(_admin, token, "cred", _key, Data(device.AssetTag), default));
        Assert.Equal("invalid device enrollment token", error.Status.Detail);
        var audit = await LastAuditAsync("device.enroll", device.AssetTag);
        Assert.False(audit.Success);
        Assert.Equal("invalid device enrollment token: expired", audit.Message);
    }

    [Fact]
    public async Task A_token_for_another_device_is_refused()
    {
        var (deviceA, tokenA) = await NewDeviceAsync();
        var (deviceB, _) = await NewDeviceAsync();
        var error = await RefusedAsync(() => DeviceCeremonies.EnrollAsync(_admin, tokenA, "cred", _key, Data(deviceB.AssetTag), default));
        Assert.Equal(StatusCode.PermissionDenied, error.StatusCode);
        Assert.Contains("collected data does not match the device", (await LastAuditAsync("device.enroll", deviceB.AssetTag)).Message);
        Assert.Equal(DeviceEnrollStatus.NotEnrolled, (await Devices.GetDeviceAsync(new GetDeviceRequest { DeviceId = deviceA.Id })).EnrollStatus);
    }

    [Fact]
    public async Task A_signature_by_another_key_is_refused()
    {
        var (device, token) = await NewDeviceAsync();
        using var call = Devices.EnrollDevice();
        await call.RequestStream.WriteAsync(new EnrollDeviceRequest
        {
            Init = new EnrollDeviceInit { Token = token, CredentialId = "cred", DeviceData = Data(device.AssetTag), Key = new KeyEnrollPayload { PublicKeyDer = ByteString.CopyFrom(_key.ExportSubjectPublicKeyInfo()) } },
        });
        Assert.True(await call.ResponseStream.MoveNext());
        using var other = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var signature = Core.Devices.KeyChallenge.Sign(other, call.ResponseStream.Current.KeyChallenge.Challenge.ToByteArray());
        await call.RequestStream.WriteAsync(new EnrollDeviceRequest { KeyChallengeResponse = new KeyChallengeResponse { Signature = ByteString.CopyFrom(signature) } });
        var error = await RefusedAsync(() => call.ResponseStream.MoveNext());
        Assert.Equal(StatusCode.PermissionDenied, error.StatusCode);
        Assert.Contains("does not verify with the device's key", (await LastAuditAsync("device.enroll", device.AssetTag)).Message);
    }

    [Fact]
    public async Task A_replayed_signature_is_refused()
    {
        var device = await EnrolledDeviceAsync();
        var caller = GatewayChannel.ForProfile(new ProfileStore(shared.Admin.Home).Load()!);
        byte[]? recorded = null;
        for (var attempt = 0; attempt < 2; attempt++)
        {
            using var call = new DeviceTrustService.DeviceTrustServiceClient(caller).AuthenticateDevice();
            await call.RequestStream.WriteAsync(new AuthenticateDeviceRequest { Init = new AuthenticateDeviceInit { CredentialId = "cred-" + device.AssetTag, DeviceData = Data(device.AssetTag), DeviceId = device.Id } });
            Assert.True(await call.ResponseStream.MoveNext());
            recorded ??= Core.Devices.KeyChallenge.Sign(_key, call.ResponseStream.Current.KeyChallenge.Challenge.ToByteArray());
            await call.RequestStream.WriteAsync(new AuthenticateDeviceRequest { KeyChallengeResponse = new KeyChallengeResponse { Signature = ByteString.CopyFrom(recorded) } });
            if (attempt == 0)
            {
                Assert.True(await call.ResponseStream.MoveNext());
                Assert.NotEmpty(call.ResponseStream.Current.UserCertificates.X509Der);
            }
            else
            {
                Assert.Equal(StatusCode.PermissionDenied, (await RefusedAsync(() => call.ResponseStream.MoveNext())).StatusCode);
            }
        }
        Assert.Contains("does not verify", (await LastAuditAsync("device.authenticate", device.AssetTag)).Message);
    }

    [Fact]
    public async Task A_drifted_os_version_is_refused()
    {
        var device = await EnrolledDeviceAsync();
        var error = await RefusedAsync(() => DeviceCeremonies.AuthenticateAsync(_admin, device.Id, "cred-" + device.AssetTag, _key, Data(device.AssetTag, version: "11"), default));
        Assert.Equal(StatusCode.PermissionDenied, error.StatusCode);
        Assert.StartsWith("collected data drift detected: OS version 11 is older", (await LastAuditAsync("device.authenticate", device.AssetTag)).Message);
    }

    [Fact]
    public async Task An_unknown_credential_is_refused()
    {
        var device = await EnrolledDeviceAsync();
        await RefusedAsync(() => DeviceCeremonies.AuthenticateAsync(_admin, device.Id, "cred-other", _key, Data(device.AssetTag), default));
        Assert.Equal("unknown device credential", (await LastAuditAsync("device.authenticate", device.AssetTag)).Message);
    }

    [Fact]
    public async Task An_unenrolled_device_is_refused()
    {
        var device = await EnrolledDeviceAsync();
        await Devices.UpdateDeviceAsync(new UpdateDeviceRequest { DeviceId = device.Id, Unenroll = true });
        var error = await RefusedAsync(() => DeviceCeremonies.AuthenticateAsync(_admin, device.Id, "cred-" + device.AssetTag, _key, Data(device.AssetTag), default));
        Assert.Equal(StatusCode.FailedPrecondition, error.StatusCode);
        Assert.Equal("device not enrolled", (await LastAuditAsync("device.authenticate", device.AssetTag)).Message);
    }

    [Fact]
    public async Task A_deleted_device_is_refused()
    {
        var device = await EnrolledDeviceAsync();
        await Devices.DeleteDeviceAsync(new DeleteDeviceRequest { DeviceId = device.Id });
        var error = await RefusedAsync(() => DeviceCeremonies.AuthenticateAsync(_admin, device.Id, "cred-" + device.AssetTag, _key, Data(device.AssetTag), default));
        Assert.Equal(StatusCode.NotFound, error.StatusCode);
        Assert.Equal("device not found", (await LastAuditAsync("device.authenticate", device.AssetTag)).Message);
        Assert.True((await LastAuditAsync("device.delete", device.AssetTag)).Success);
    }

    [Fact]
    public async Task A_certificate_that_already_carries_device_extensions_is_refused()
    {
        var device = await EnrolledDeviceAsync();
        var der = await DeviceCeremonies.AuthenticateAsync(_admin, device.Id, "cred-" + device.AssetTag, _key, Data(device.AssetTag), default);
        var profile = new ProfileStore(shared.Admin.Home).Load()!;
        using var augmented = X509CertificateLoader.LoadCertificate(der);
        Assert.True(augmented.NotAfter <= profile.Certificate.NotAfter);
        using var channel = GatewayChannel.Create(profile.Proxy, profile.Ca, augmented.CopyWithPrivateKey(profile.Key));
        var error = await RefusedAsync(() => DeviceCeremonies.AuthenticateAsync(channel, device.Id, "cred-" + device.AssetTag, _key, Data(device.AssetTag), default));
        Assert.Contains("already carries device extensions", error.Status.Detail);
    }

    [Fact]
    public async Task A_wrong_first_message_is_refused_and_spends_nothing()
    {
        var (device, token) = await NewDeviceAsync();
        using var call = Devices.EnrollDevice();
        await call.RequestStream.WriteAsync(new EnrollDeviceRequest { KeyChallengeResponse = new KeyChallengeResponse { Signature = ByteString.CopyFromUtf8("x") } });
        var error = await RefusedAsync(() => call.ResponseStream.MoveNext());
        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("the first message must be init", error.Status.Detail);
        // the token is still good
        await DeviceCeremonies.EnrollAsync(_admin, token, "cred", _key, Data(device.AssetTag), default);
    }

    [Fact]
    public async Task An_empty_or_unknown_message_is_refused()
    {
        using var call = Devices.EnrollDevice();
        await call.RequestStream.WriteAsync(new EnrollDeviceRequest());
        var error = await RefusedAsync(() => call.ResponseStream.MoveNext());
        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("an empty or unknown message", error.Status.Detail);
    }

    [Fact]
    public async Task A_second_init_is_refused()
    {
        var (device, token) = await NewDeviceAsync();
        using var call = Devices.EnrollDevice();
        var init = new EnrollDeviceRequest
        {
            Init = new EnrollDeviceInit { Token = token, CredentialId = "cred", DeviceData = Data(device.AssetTag), Key = new KeyEnrollPayload { PublicKeyDer = ByteString.CopyFrom(_key.ExportSubjectPublicKeyInfo()) } },
        };
        await call.RequestStream.WriteAsync(init);
        Assert.True(await call.ResponseStream.MoveNext());
        await call.RequestStream.WriteAsync(init);
        var error = await RefusedAsync(() => call.ResponseStream.MoveNext());
        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("expected key_challenge_response, not Init", error.Status.Detail);
        Assert.Equal(DeviceEnrollStatus.NotEnrolled, (await Devices.GetDeviceAsync(new GetDeviceRequest { DeviceId = device.Id })).EnrollStatus);
    }

    [Fact]
    public async Task Oversized_fields_are_refused_before_anything_happens()
    {
        var (device, token) = await NewDeviceAsync();
        var tooLong = Data(device.AssetTag);
        tooLong.ModelIdentifier = new string('m', 300);
        var error = await RefusedAsync(() => DeviceCeremonies.EnrollAsync(_admin, token, "cred", _key, tooLong, default));
        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("device_data.model_identifier is longer than 256", error.Status.Detail);
        await RefusedAsync(() => DeviceCeremonies.EnrollAsync(_admin, token, new string('c', 65), _key, Data(device.AssetTag), default));
        using var p384 = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        Assert.Contains("P-256", (await RefusedAsync(() => DeviceCeremonies.EnrollAsync(_admin, token, "cred", p384, Data(device.AssetTag), default))).Status.Detail);
        await DeviceCeremonies.EnrollAsync(_admin, token, "cred", _key, Data(device.AssetTag), default);
    }

    [Fact]
    public async Task A_silent_device_is_cut_off_after_ten_seconds()
    {
        using var call = Devices.EnrollDevice();
        var timer = System.Diagnostics.Stopwatch.StartNew();
        var error = await RefusedAsync(() => call.ResponseStream.MoveNext());
        Assert.Equal(StatusCode.DeadlineExceeded, error.StatusCode);
        Assert.Equal("the device sent no init within 10 s", error.Status.Detail);
        Assert.InRange(timer.Elapsed, TimeSpan.FromSeconds(9), TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task The_database_holds_no_plaintext_token()
    {
        var (_, token) = await NewDeviceAsync();
        var database = Path.Combine(shared.Gateway.DataDirectory, "devicetrust.db");
        var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={database};Mode=ReadOnly");
        await using (connection)
        {
            await connection.OpenAsync();
            foreach (var table in new[] { "grain_state", "audit_event" })
            {
                await using var command = connection.CreateCommand();
                command.CommandText = $"SELECT count(*) FROM {table} WHERE instr(CAST(payload_or_message AS TEXT), $token) > 0"
                    .Replace("payload_or_message", table == "grain_state" ? "payload" : "message", StringComparison.Ordinal);
                command.Parameters.AddWithValue("$token", token);
                Assert.Equal(0L, (long)(await command.ExecuteScalarAsync())!);
            }
            await using var hashed = connection.CreateCommand();
            hashed.CommandText = "SELECT count(*) FROM grain_state WHERE state_name = 'enroll-token' AND grain_id_ext = $hash";
            hashed.Parameters.AddWithValue("$hash", Core.Secrets.SecretToken.HashHex(token));
            Assert.Equal(1L, (long)(await hashed.ExecuteScalarAsync())!);
        }
    }

    [Fact]
    public async Task The_inventory_pages_through_the_api_in_a_stable_order()
    {
        var tags = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            tags.Add((await NewDeviceAsync()).Device.AssetTag);
        }
        var seen = new List<string>();
        var page = "";
        do
        {
            var response = await Devices.ListDevicesAsync(new ListDevicesRequest { PageSize = 2, PageToken = page });
            Assert.True(response.Devices.Count <= 2);
            seen.AddRange(response.Devices.Select(d => d.AssetTag + "/" + d.OsType));
            page = response.NextPageToken;
        }
        while (page.Length > 0);
        Assert.Equal(seen.Order(StringComparer.Ordinal), seen);
        Assert.Equal(seen.Distinct().Count(), seen.Count);
        Assert.All(tags, t => Assert.Contains(t + "/" + OSType.Linux, seen));
        await Assert.ThrowsAsync<RpcException>(async () => await Devices.ListDevicesAsync(new ListDevicesRequest { PageSize = 201 }));
    }
}
