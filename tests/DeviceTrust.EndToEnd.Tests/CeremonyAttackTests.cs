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

[Collection(SharedGatewayCollection.Name)]
public sealed class CeremonyAttacksOnSqliteTests(SharedGateway cluster) : CeremonyAttacks(cluster)
{
    [Fact]
    public async Task A_silent_device_is_cut_off_after_the_default_ten_seconds()
    {
        using var call = Devices.EnrollDevice();
        var error = await Refusals.Of(() => call.ResponseStream.MoveNext());
        Refusals.Is(StatusCode.DeadlineExceeded, "the device sent no init within 10 s", error);
        AuditTrail.IsRefusal(await AuditTrail.LastAsync(Admin, "device.enroll", e => e.Message == "the device sent no init within 10 s"),
            StatusCode.DeadlineExceeded, "the device sent no init within 10 s");
    }

    [Fact]
    public async Task The_database_holds_no_plaintext_token()
    {
        var (_, token) = await NewDeviceAsync();
        var database = Path.Combine(cluster.Gateway.DataDirectory, "devicetrust.db");
        var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={database};Mode=ReadOnly");
        await using (connection)
        {
            await connection.OpenAsync();
            foreach (var (table, column) in new[] { ("grain_state", "payload"), ("audit_event", "message"), ("audit_event", "details") })
            {
                await using var command = connection.CreateCommand();
                command.CommandText = $"SELECT count(*) FROM {table} WHERE instr(CAST({column} AS TEXT), $token) > 0";
                command.Parameters.AddWithValue("$token", token);
                Assert.Equal(0L, (long)(await command.ExecuteScalarAsync())!);
            }
            await using var hashed = connection.CreateCommand();
            hashed.CommandText = "SELECT count(*) FROM grain_state WHERE state_name = 'enroll-token' AND grain_id_ext = $hash";
            hashed.Parameters.AddWithValue("$hash", Core.Secrets.SecretToken.HashHex(token));
            Assert.Equal(1L, (long)(await hashed.ExecuteScalarAsync())!);
        }
    }
}

[Collection(PostgresGatewayCollection.Name)]
public sealed class CeremonyAttacksOnPostgresTests(PostgresGateway cluster) : CeremonyAttacks(cluster)
{
    [Fact]
    public async Task A_device_that_stops_answering_halfway_is_cut_off_at_the_ceremony_deadline()
    {
        var (device, token) = await NewDeviceAsync();
        using var call = Devices.EnrollDevice();
        await call.RequestStream.WriteAsync(KeyInit(token, device.AssetTag));
        Assert.True(await call.ResponseStream.MoveNext());
        // the challenge arrived; the device never answers it
        var error = await Refusals.Of(() => call.ResponseStream.MoveNext());
        var reason = $"the ceremony did not finish within {PostgresGateway.CeremonyTimeout.TotalSeconds:F0} s";
        Refusals.Is(StatusCode.DeadlineExceeded, reason, error);
        AuditTrail.IsRefusal(await AuditTrail.LastAsync(Admin, "device.enroll", e => e.AssetTag == device.AssetTag), StatusCode.DeadlineExceeded, reason);
        Assert.Equal(DeviceEnrollStatus.NotEnrolled, (await GetAsync(device)).EnrollStatus);
    }

    [Fact]
    public async Task A_silent_device_is_cut_off_after_the_configured_first_message_timeout()
    {
        using var call = Devices.EnrollDevice();
        var error = await Refusals.Of(() => call.ResponseStream.MoveNext());
        Refusals.Is(StatusCode.DeadlineExceeded, $"the device sent no init within {PostgresGateway.FirstMessageTimeout.TotalSeconds:F0} s", error);
    }
}

/// <summary>
/// Attacks and bad input on the ceremony streams through the real gateway, on SQLite and on PostgreSQL: each is
/// refused with its exact status and reason, the device and the token are as they were, and the audit log has the
/// event with the real reason.
/// </summary>
public abstract class CeremonyAttacks : IDisposable
{
    private readonly ICluster _cluster;
    private readonly ECDsa _key = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    protected CeremonyAttacks(ICluster cluster)
    {
        _cluster = cluster;
        Admin = GatewayChannel.ForProfile(new ProfileStore(cluster.Admin.Home).Load()!);
    }

    protected GrpcChannel Admin { get; }

    public void Dispose()
    {
        Admin.Dispose();
        _key.Dispose();
        GC.SuppressFinalize(this);
    }

    protected DeviceTrustService.DeviceTrustServiceClient Devices => new(Admin);

    private static string NewSerial() => "A" + Guid.NewGuid().ToString("N")[..11].ToUpperInvariant();

    protected static DeviceCollectedData Data(string serial, string version = "12") => new()
    {
        CollectTime = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow),
        OsType = OSType.Linux,
        SerialNumber = serial,
        OsVersion = version,
    };

    protected EnrollDeviceRequest KeyInit(string token, string serial, string credential = "cred") => new()
    {
        Init = new EnrollDeviceInit
        {
            Token = token,
            CredentialId = credential,
            DeviceData = Data(serial),
            Key = new KeyEnrollPayload { PublicKeyDer = ByteString.CopyFrom(_key.ExportSubjectPublicKeyInfo()) },
        },
    };

    protected async Task<(Device Device, string Token)> NewDeviceAsync(TimeSpan? ttl = null)
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

    protected async Task<Device> GetAsync(Device device) => await Devices.GetDeviceAsync(new GetDeviceRequest { DeviceId = device.Id });

    private async Task<Device> EnrolledDeviceAsync()
    {
        var (device, token) = await NewDeviceAsync();
        return await DeviceCeremonies.EnrollAsync(Admin, token, "cred-" + device.AssetTag, _key, Data(device.AssetTag), default);
    }

    private Task<AuditEvent> LastAuditAsync(string type, string assetTag) => AuditTrail.LastAsync(Admin, type, e => e.AssetTag == assetTag);

    /// <summary>The token still enrolls the device: the refusal spent nothing.</summary>
    private async Task StillUsableAsync(Device device, string token) =>
        Assert.Equal(DeviceEnrollStatus.Enrolled, (await DeviceCeremonies.EnrollAsync(Admin, token, "cred", _key, Data(device.AssetTag), default)).EnrollStatus);

    [Fact]
    public async Task Of_100_concurrent_enrollments_with_one_token_exactly_one_succeeds()
    {
        var (device, token) = await NewDeviceAsync();
        var results = await Task.WhenAll(Enumerable.Range(0, 100).Select(async i =>
        {
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            try
            {
                await DeviceCeremonies.EnrollAsync(Admin, token, $"cred-{i}", key, Data(device.AssetTag), default);
                return "ok";
            }
            catch (RpcException e)
            {
                return $"{e.StatusCode}: {e.Status.Detail}";
            }
        }));
        Assert.Single(results, r => r == "ok");
        Assert.Equal(99, results.Count(r => r == "PermissionDenied: invalid device enrollment token"));
        var events = await AuditTrail.EventsAsync(Admin, "device.enroll", device: device.AssetTag);
        Assert.Single(events, e => e.Success);
        Assert.Equal(99, events.Count(e => e.Message == "invalid device enrollment token: already spent"));
    }

    [Fact]
    public async Task An_expired_token_is_refused()
    {
        var (device, token) = await NewDeviceAsync(TimeSpan.FromSeconds(1));
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        var error = await Refusals.Of(() => DeviceCeremonies.EnrollAsync(Admin, token, "cred", _key, Data(device.AssetTag), default));
        Refusals.Is(StatusCode.PermissionDenied, "invalid device enrollment token", error);
        AuditTrail.IsRefusal(await LastAuditAsync("device.enroll", device.AssetTag), StatusCode.PermissionDenied, "invalid device enrollment token: expired");
        Assert.Equal(DeviceEnrollStatus.NotEnrolled, (await GetAsync(device)).EnrollStatus);
    }

    [Fact]
    public async Task A_token_for_another_device_is_refused()
    {
        var (deviceA, tokenA) = await NewDeviceAsync();
        var (deviceB, _) = await NewDeviceAsync();
        var error = await Refusals.Of(() => DeviceCeremonies.EnrollAsync(Admin, tokenA, "cred", _key, Data(deviceB.AssetTag), default));
        var reason = $"collected data does not match the device: serial number \"{deviceB.AssetTag}\" is not the asset tag \"{deviceA.AssetTag}\"";
        Refusals.Is(StatusCode.PermissionDenied, reason, error);
        AuditTrail.IsRefusal(await LastAuditAsync("device.enroll", deviceB.AssetTag), StatusCode.PermissionDenied, reason);
        Assert.Equal(DeviceEnrollStatus.NotEnrolled, (await GetAsync(deviceA)).EnrollStatus);
        Assert.Equal(DeviceEnrollStatus.NotEnrolled, (await GetAsync(deviceB)).EnrollStatus);
    }

    [Fact]
    public async Task A_signature_by_another_key_is_refused()
    {
        var (device, token) = await NewDeviceAsync();
        using var call = Devices.EnrollDevice();
        await call.RequestStream.WriteAsync(KeyInit(token, device.AssetTag));
        Assert.True(await call.ResponseStream.MoveNext());
        using var other = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var signature = Core.Devices.KeyChallenge.Sign(other, call.ResponseStream.Current.KeyChallenge.Challenge.ToByteArray());
        await call.RequestStream.WriteAsync(new EnrollDeviceRequest { KeyChallengeResponse = new KeyChallengeResponse { Signature = ByteString.CopyFrom(signature) } });
        var error = await Refusals.Of(() => call.ResponseStream.MoveNext());
        const string Reason = "the challenge signature does not verify with the device's key";
        Refusals.Is(StatusCode.PermissionDenied, Reason, error);
        AuditTrail.IsRefusal(await LastAuditAsync("device.enroll", device.AssetTag), StatusCode.PermissionDenied, Reason);
        Assert.Equal(DeviceEnrollStatus.NotEnrolled, (await GetAsync(device)).EnrollStatus);
    }

    [Fact]
    public async Task A_replayed_signature_is_refused()
    {
        var device = await EnrolledDeviceAsync();
        byte[]? recorded = null;
        for (var attempt = 0; attempt < 2; attempt++)
        {
            using var call = Devices.AuthenticateDevice();
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
                Refusals.Is(StatusCode.PermissionDenied, "the challenge signature does not verify with the device's key", await Refusals.Of(() => call.ResponseStream.MoveNext()));
            }
        }
        AuditTrail.IsRefusal(await LastAuditAsync("device.authenticate", device.AssetTag), StatusCode.PermissionDenied,
            "the challenge signature does not verify with the device's key");
        Assert.Equal(2, (await GetAsync(device)).CollectedData.Count);
    }

    [Fact]
    public async Task A_drifted_os_version_is_refused()
    {
        var device = await EnrolledDeviceAsync();
        var error = await Refusals.Of(() => DeviceCeremonies.AuthenticateAsync(Admin, device.Id, "cred-" + device.AssetTag, _key, Data(device.AssetTag, version: "11"), default));
        const string Reason = "collected data drift detected: OS version 11 is older than the last seen 12";
        Refusals.Is(StatusCode.PermissionDenied, Reason, error);
        AuditTrail.IsRefusal(await LastAuditAsync("device.authenticate", device.AssetTag), StatusCode.PermissionDenied, Reason);
        Assert.Single((await GetAsync(device)).CollectedData);
    }

    [Fact]
    public async Task An_unknown_credential_is_refused()
    {
        var device = await EnrolledDeviceAsync();
        var error = await Refusals.Of(() => DeviceCeremonies.AuthenticateAsync(Admin, device.Id, "cred-other", _key, Data(device.AssetTag), default));
        Refusals.Is(StatusCode.PermissionDenied, "unknown device credential", error);
        AuditTrail.IsRefusal(await LastAuditAsync("device.authenticate", device.AssetTag), StatusCode.PermissionDenied, "unknown device credential");
        Assert.Single((await GetAsync(device)).CollectedData);
    }

    [Fact]
    public async Task An_unenrolled_device_is_refused()
    {
        var device = await EnrolledDeviceAsync();
        await Devices.UpdateDeviceAsync(new UpdateDeviceRequest { DeviceId = device.Id, Unenroll = true });
        var error = await Refusals.Of(() => DeviceCeremonies.AuthenticateAsync(Admin, device.Id, "cred-" + device.AssetTag, _key, Data(device.AssetTag), default));
        Refusals.Is(StatusCode.FailedPrecondition, "device not enrolled", error);
        AuditTrail.IsRefusal(await LastAuditAsync("device.authenticate", device.AssetTag), StatusCode.FailedPrecondition, "device not enrolled");
        var unenrolled = await GetAsync(device);
        Assert.Equal((DeviceEnrollStatus.NotEnrolled, ""), (unenrolled.EnrollStatus, unenrolled.Owner));
        Assert.Contains("\"enroll_status\":{\"before\":\"Enrolled\",\"after\":\"NotEnrolled\"}", (await LastAuditAsync("device.update", device.AssetTag)).Details);
    }

    [Fact]
    public async Task A_deleted_device_is_refused()
    {
        var device = await EnrolledDeviceAsync();
        await Devices.DeleteDeviceAsync(new DeleteDeviceRequest { DeviceId = device.Id });
        var error = await Refusals.Of(() => DeviceCeremonies.AuthenticateAsync(Admin, device.Id, "cred-" + device.AssetTag, _key, Data(device.AssetTag), default));
        Refusals.Is(StatusCode.NotFound, "device not found", error);
        AuditTrail.IsRefusal(await LastAuditAsync("device.authenticate", device.AssetTag), StatusCode.NotFound, "device not found");
        Assert.True((await LastAuditAsync("device.delete", device.AssetTag)).Success);
        Assert.Empty((await Devices.FindDevicesAsync(new FindDevicesRequest { IdOrTag = device.Id })).Devices);
    }

    [Fact]
    public async Task An_asset_tag_that_is_not_in_the_inventory_is_refused_at_authentication()
    {
        var serial = NewSerial();
        var error = await Refusals.Of(() => DeviceCeremonies.AuthenticateAsync(Admin, "", "cred", _key, Data(serial), default));
        Refusals.Is(StatusCode.NotFound, "device not found: it is not in the inventory", error);
        AuditTrail.IsRefusal(await LastAuditAsync("device.authenticate", serial), StatusCode.NotFound, "device not found: it is not in the inventory");
        Assert.Empty((await Devices.FindDevicesAsync(new FindDevicesRequest { IdOrTag = serial })).Devices);
    }

    [Fact]
    public async Task Device_authentication_is_refused_while_device_trust_is_off()
    {
        var device = await EnrolledDeviceAsync();
        var config = new ClusterConfigService.ClusterConfigServiceClient(Admin);
        await config.UpdateDeviceTrustConfigAsync(new UpdateDeviceTrustConfigRequest { Mode = "off" });
        try
        {
            var error = await Refusals.Of(() => DeviceCeremonies.AuthenticateAsync(Admin, device.Id, "cred-" + device.AssetTag, _key, Data(device.AssetTag), default));
            Refusals.Is(StatusCode.FailedPrecondition, "device trust is off in this cluster", error);
            AuditTrail.IsRefusal(await LastAuditAsync("device.authenticate", device.AssetTag), StatusCode.FailedPrecondition, "device trust is off in this cluster");
            Assert.Single((await GetAsync(device)).CollectedData);
        }
        finally
        {
            await config.UpdateDeviceTrustConfigAsync(new UpdateDeviceTrustConfigRequest { Mode = "optional" });
        }
    }

    [Fact]
    public async Task A_certificate_that_already_carries_device_extensions_is_refused()
    {
        var device = await EnrolledDeviceAsync();
        var der = (await DeviceCeremonies.AuthenticateAsync(Admin, device.Id, "cred-" + device.AssetTag, _key, Data(device.AssetTag), default)).X509Der.ToByteArray();
        var profile = new ProfileStore(_cluster.Admin.Home).Load()!;
        using var augmented = X509CertificateLoader.LoadCertificate(der);
        Assert.True(augmented.NotAfter <= profile.Certificate.NotAfter);
        Assert.Equal(Core.Certificates.UserIdentity.Read(profile.Certificate), Core.Certificates.UserIdentity.Read(augmented));
        using var channel = GatewayChannel.Create(profile.Proxy, profile.Ca, augmented.CopyWithPrivateKey(profile.Key));
        var error = await Refusals.Of(() => DeviceCeremonies.AuthenticateAsync(channel, device.Id, "cred-" + device.AssetTag, _key, Data(device.AssetTag), default));
        const string Reason = "the certificate already carries device extensions: authenticate with the certificate from login";
        Refusals.Is(StatusCode.PermissionDenied, Reason, error);
        AuditTrail.IsRefusal(await LastAuditAsync("device.authenticate", device.AssetTag), StatusCode.PermissionDenied, Reason);
        Assert.Equal(2, (await GetAsync(device)).CollectedData.Count);
    }

    [Fact]
    public async Task A_key_device_that_answers_with_a_quote_is_refused()
    {
        var device = await EnrolledDeviceAsync();
        using var call = Devices.AuthenticateDevice();
        await call.RequestStream.WriteAsync(new AuthenticateDeviceRequest { Init = new AuthenticateDeviceInit { CredentialId = "cred-" + device.AssetTag, DeviceData = Data(device.AssetTag), DeviceId = device.Id } });
        Assert.True(await call.ResponseStream.MoveNext());
        Assert.NotEmpty(call.ResponseStream.Current.KeyChallenge.Challenge);
        await call.RequestStream.WriteAsync(new AuthenticateDeviceRequest
        {
            TpmChallengeResponse = new TPMAuthenticateDeviceChallengeResponse { Quotes = { new TPMQuote { Quote = ByteString.CopyFrom(new byte[10]), Signature = ByteString.CopyFrom(new byte[10]) } } },
        });
        const string Reason = "expected key_challenge_response, not TpmChallengeResponse";
        Refusals.Is(StatusCode.InvalidArgument, Reason, await Refusals.Of(() => call.ResponseStream.MoveNext()));
        AuditTrail.IsRefusal(await LastAuditAsync("device.authenticate", device.AssetTag), StatusCode.InvalidArgument, Reason);
        Assert.Single((await GetAsync(device)).CollectedData);
    }

    [Fact]
    public async Task A_wrong_first_message_is_refused_and_spends_nothing()
    {
        var (device, token) = await NewDeviceAsync();
        using var call = Devices.EnrollDevice();
        await call.RequestStream.WriteAsync(new EnrollDeviceRequest { KeyChallengeResponse = new KeyChallengeResponse { Signature = ByteString.CopyFromUtf8("x") } });
        const string Reason = "the first message must be init, not KeyChallengeResponse";
        Refusals.Is(StatusCode.InvalidArgument, Reason, await Refusals.Of(() => call.ResponseStream.MoveNext()));
        AuditTrail.IsRefusal(await AuditTrail.LastAsync(Admin, "device.enroll", e => e.Message == Reason), StatusCode.InvalidArgument, Reason);
        await StillUsableAsync(device, token);
    }

    [Fact]
    public async Task An_empty_or_unknown_message_is_refused()
    {
        using var call = Devices.EnrollDevice();
        await call.RequestStream.WriteAsync(new EnrollDeviceRequest());
        const string Reason = "the first message must be init, not an empty or unknown message";
        Refusals.Is(StatusCode.InvalidArgument, Reason, await Refusals.Of(() => call.ResponseStream.MoveNext()));
        AuditTrail.IsRefusal(await AuditTrail.LastAsync(Admin, "device.enroll", e => e.Message == Reason), StatusCode.InvalidArgument, Reason);
    }

    [Fact]
    public async Task A_second_init_is_refused()
    {
        var (device, token) = await NewDeviceAsync();
        using var call = Devices.EnrollDevice();
        var init = KeyInit(token, device.AssetTag);
        await call.RequestStream.WriteAsync(init);
        Assert.True(await call.ResponseStream.MoveNext());
        await call.RequestStream.WriteAsync(init);
        const string Reason = "expected key_challenge_response, not Init";
        Refusals.Is(StatusCode.InvalidArgument, Reason, await Refusals.Of(() => call.ResponseStream.MoveNext()));
        AuditTrail.IsRefusal(await LastAuditAsync("device.enroll", device.AssetTag), StatusCode.InvalidArgument, Reason);
        Assert.Equal(DeviceEnrollStatus.NotEnrolled, (await GetAsync(device)).EnrollStatus);
    }

    [Fact]
    public async Task Oversized_fields_are_refused_before_anything_happens()
    {
        var (device, token) = await NewDeviceAsync();
        var tooLong = Data(device.AssetTag);
        tooLong.ModelIdentifier = new string('m', 300);
        Refusals.Is(StatusCode.InvalidArgument, "device_data.model_identifier is longer than 256 characters",
            await Refusals.Of(() => DeviceCeremonies.EnrollAsync(Admin, token, "cred", _key, tooLong, default)));
        Refusals.Is(StatusCode.InvalidArgument, "credential_id is longer than 64 characters",
            await Refusals.Of(() => DeviceCeremonies.EnrollAsync(Admin, token, new string('c', 65), _key, Data(device.AssetTag), default)));
        using var p384 = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        var curve = await Refusals.Of(() => DeviceCeremonies.EnrollAsync(Admin, token, "cred", p384, Data(device.AssetTag), default));
        Assert.Equal(StatusCode.InvalidArgument, curve.StatusCode);
        Assert.Contains("P-256", curve.Status.Detail);
        AuditTrail.IsRefusal(await AuditTrail.LastAsync(Admin, "device.enroll", e => e.Message.StartsWith("credential_id is longer", StringComparison.Ordinal)),
            StatusCode.InvalidArgument, "credential_id is longer than 64 characters");
        await StillUsableAsync(device, token);
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
        Refusals.Is(StatusCode.InvalidArgument, "page_size must be between 0 and 200",
            await Refusals.Of(() => Devices.ListDevicesAsync(new ListDevicesRequest { PageSize = 201 }).ResponseAsync));
    }
}
