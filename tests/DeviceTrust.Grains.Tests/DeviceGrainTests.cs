using System.Security.Cryptography;
using DeviceTrust.Core.Devices;
using DeviceTrust.Core.Errors;
using DeviceTrust.Core.Secrets;
using DeviceTrust.Grains.Inventory;
using DeviceTrust.Grains.Tokens;

namespace DeviceTrust.Grains.Tests;

public sealed class DeviceGrainTests(SqliteClusterFixture fixture) : IClassFixture<SqliteClusterFixture>, IDisposable
{
    private readonly SiloHarness _silo = fixture.Silo;
    private readonly ECDsa _key = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    public void Dispose() => _key.Dispose();

    private CollectedData Data(string serial, string version = "12") =>
        new(_silo.Clock.GetUtcNow(), _silo.Clock.GetUtcNow(), OsType.Linux, serial, "", version, "", "alice", "debian", "", "", "");

    private async Task<(IDeviceGrain Grain, string Tag)> NewDeviceAsync()
    {
        var tag = "SN" + Guid.NewGuid().ToString("N")[..10].ToUpperInvariant();
        var record = await _silo.Grains.GetGrain<IAssetTagGrain>(AssetTags.Key(OsType.Linux, tag))
            .CreateDeviceAsync(Guid.NewGuid(), OsType.Linux, tag, DeviceSource.Api, "admin");
        return (_silo.Grains.GetGrain<IDeviceGrain>(record.Id), tag);
    }

    private async Task<(IDeviceGrain Grain, string Tag)> EnrolledDeviceAsync()
    {
        var (device, tag) = await NewDeviceAsync();
        var challenge = await device.BeginEnrollmentAsync("cred-1", _key.ExportSubjectPublicKeyInfo(), Data(tag), "alice", AttestationType.Unspecified);
        await device.CompleteEnrollmentAsync(KeyChallenge.Sign(_key, challenge));
        return (device, tag);
    }

    [Fact]
    public async Task Of_100_concurrent_spenders_of_one_token_exactly_one_gets_the_device()
    {
        var deviceId = Guid.NewGuid();
        var token = _silo.Grains.GetGrain<IEnrollTokenGrain>(SecretToken.HashHex(SecretToken.New()));
        await token.CreateAsync(deviceId, _silo.Clock.GetUtcNow().AddHours(1), "admin", autoEnroll: false);
        var outcomes = await Task.WhenAll(Enumerable.Range(0, 100).Select(async _ =>
        {
            try
            {
                return await token.SpendAsync();
            }
            catch (DeviceTrustException e) when (e.Message.StartsWith("invalid device enrollment token", StringComparison.Ordinal))
            {
                return Guid.Empty;
            }
        }));
        Assert.Equal(deviceId, Assert.Single(outcomes, o => o != Guid.Empty));
    }

    [Fact]
    public async Task A_spent_token_stays_spent_after_deactivation()
    {
        var token = _silo.Grains.GetGrain<IEnrollTokenGrain>(SecretToken.HashHex(SecretToken.New()));
        await token.CreateAsync(Guid.NewGuid(), _silo.Clock.GetUtcNow().AddHours(1), "admin", false);
        await token.SpendAsync();
        await _silo.Cluster.DeactivateAsync(token.GetGrainId());
        Assert.EndsWith("already spent", (await Assert.ThrowsAsync<DeviceTrustException>(() => token.SpendAsync())).Message);
    }

    [Fact]
    public async Task Expired_and_unknown_tokens_are_refused_with_their_reason()
    {
        var token = _silo.Grains.GetGrain<IEnrollTokenGrain>(SecretToken.HashHex(SecretToken.New()));
        await token.CreateAsync(Guid.NewGuid(), _silo.Clock.GetUtcNow().AddMinutes(5), "admin", false);
        _silo.Clock.Advance(TimeSpan.FromMinutes(6));
        Assert.EndsWith("expired", (await Assert.ThrowsAsync<DeviceTrustException>(() => token.SpendAsync())).Message);
        var unknown = _silo.Grains.GetGrain<IEnrollTokenGrain>(SecretToken.HashHex(SecretToken.New()));
        Assert.EndsWith("unknown token", (await Assert.ThrowsAsync<DeviceTrustException>(() => unknown.SpendAsync())).Message);
    }

    [Fact]
    public async Task Only_one_of_ten_concurrent_creations_of_an_asset_tag_wins()
    {
        var tag = "SN" + Guid.NewGuid().ToString("N")[..10].ToUpperInvariant();
        var grain = _silo.Grains.GetGrain<IAssetTagGrain>(AssetTags.Key(OsType.Linux, tag));
        var outcomes = await Task.WhenAll(Enumerable.Range(0, 10).Select(async _ =>
        {
            try
            {
                await grain.CreateDeviceAsync(Guid.NewGuid(), OsType.Linux, tag, DeviceSource.Api, "admin");
                return true;
            }
            catch (DeviceTrustException e) when (e.Kind == ErrorKind.AlreadyExists)
            {
                return false;
            }
        }));
        Assert.Single(outcomes, o => o);
        // the same tag on another OS is another device
        await _silo.Grains.GetGrain<IAssetTagGrain>(AssetTags.Key(OsType.MacOS, tag)).CreateDeviceAsync(Guid.NewGuid(), OsType.MacOS, tag, DeviceSource.Api, "admin");
    }

    [Fact]
    public async Task A_tag_whose_device_was_deleted_can_be_used_again()
    {
        var (device, tag) = await NewDeviceAsync();
        var removed = await device.DeleteAsync();
        var grain = _silo.Grains.GetGrain<IAssetTagGrain>(removed.AssetTagKey);
        Assert.Null(await grain.GetAsync());
        await grain.CreateDeviceAsync(Guid.NewGuid(), OsType.Linux, tag, DeviceSource.Api, "admin");
    }

    [Fact]
    public async Task Enrollment_records_the_credential_the_owner_and_the_data()
    {
        var (device, tag) = await EnrolledDeviceAsync();
        var record = (await device.GetAsync())!;
        Assert.Equal(EnrollStatus.Enrolled, record.EnrollStatus);
        Assert.Equal("cred-1", record.Credential!.Id);
        Assert.Equal(AttestationType.Unspecified, record.Credential.AttestationType);
        Assert.Equal("alice", record.Owner);
        Assert.Equal(tag, Assert.Single(record.CollectedData).SerialNumber);
    }

    [Fact]
    public async Task A_signature_by_another_key_is_refused_and_the_challenge_is_spent()
    {
        var (device, tag) = await NewDeviceAsync();
        using var other = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var challenge = await device.BeginEnrollmentAsync("cred-1", _key.ExportSubjectPublicKeyInfo(), Data(tag), "alice", AttestationType.Unspecified);
        Assert.Contains("does not verify", (await Assert.ThrowsAsync<DeviceTrustException>(() => device.CompleteEnrollmentAsync(KeyChallenge.Sign(other, challenge)))).Message);
        // the right signature now comes too late: one answer per challenge
        Assert.Contains("no ceremony in progress", (await Assert.ThrowsAsync<DeviceTrustException>(() => device.CompleteEnrollmentAsync(KeyChallenge.Sign(_key, challenge)))).Message);
        Assert.Equal(EnrollStatus.NotEnrolled, (await device.GetAsync())!.EnrollStatus);
    }

    [Fact]
    public async Task A_replayed_signature_is_refused()
    {
        var (device, tag) = await EnrolledDeviceAsync();
        var challenge = (await device.BeginAuthenticationAsync("cred-1", Data(tag), "alice", AttestationType.Unspecified)).Bytes;
        var signature = KeyChallenge.Sign(_key, challenge);
        await device.CompleteAuthenticationAsync(signature);
        await Assert.ThrowsAsync<DeviceTrustException>(() => device.CompleteAuthenticationAsync(signature));
        await device.BeginAuthenticationAsync("cred-1", Data(tag), "alice", AttestationType.Unspecified);
        Assert.Contains("does not verify", (await Assert.ThrowsAsync<DeviceTrustException>(() => device.CompleteAuthenticationAsync(signature))).Message);
    }

    [Fact]
    public async Task A_second_init_cancels_the_first()
    {
        var (device, tag) = await EnrolledDeviceAsync();
        var first = (await device.BeginAuthenticationAsync("cred-1", Data(tag), "alice", AttestationType.Unspecified)).Bytes;
        var second = (await device.BeginAuthenticationAsync("cred-1", Data(tag), "alice", AttestationType.Unspecified)).Bytes;
        Assert.NotEqual(first, second);
        await Assert.ThrowsAsync<DeviceTrustException>(() => device.CompleteAuthenticationAsync(KeyChallenge.Sign(_key, first)));
    }

    [Fact]
    public async Task A_challenge_expires_after_sixty_seconds()
    {
        var (device, tag) = await EnrolledDeviceAsync();
        var challenge = (await device.BeginAuthenticationAsync("cred-1", Data(tag), "alice", AttestationType.Unspecified)).Bytes;
        _silo.Clock.Advance(TimeSpan.FromSeconds(61));
        Assert.Contains("expired", (await Assert.ThrowsAsync<DeviceTrustException>(() => device.CompleteAuthenticationAsync(KeyChallenge.Sign(_key, challenge)))).Message);
    }

    [Fact]
    public async Task Authentication_keeps_the_enrollment_record_and_the_last_ten()
    {
        var (device, tag) = await EnrolledDeviceAsync();
        for (var i = 0; i < 12; i++)
        {
            var challenge = (await device.BeginAuthenticationAsync("cred-1", Data(tag, version: $"12.{i}"), "alice", AttestationType.Unspecified)).Bytes;
            await device.CompleteAuthenticationAsync(KeyChallenge.Sign(_key, challenge));
        }
        var record = (await device.GetAsync())!;
        Assert.Equal(11, record.CollectedData.Count);
        Assert.Equal("12", record.CollectedData[0].OsVersion);
        Assert.Equal("12.11", record.CollectedData[^1].OsVersion);
    }

    [Fact]
    public async Task An_unenrolled_device_cannot_authenticate_and_its_pending_challenge_dies()
    {
        var (device, tag) = await EnrolledDeviceAsync();
        var challenge = (await device.BeginAuthenticationAsync("cred-1", Data(tag), "alice", AttestationType.Unspecified)).Bytes;
        await device.UpdateAsync(unenroll: true, profile: null);
        await Assert.ThrowsAsync<DeviceTrustException>(() => device.CompleteAuthenticationAsync(KeyChallenge.Sign(_key, challenge)));
        Assert.Equal("device not enrolled", (await Assert.ThrowsAsync<DeviceTrustException>(() => device.BeginAuthenticationAsync("cred-1", Data(tag), "alice", AttestationType.Unspecified))).Message);
    }

    [Fact]
    public async Task A_minimum_attestation_above_a_key_refuses_key_devices()
    {
        var (device, tag) = await EnrolledDeviceAsync();
        var error = await Assert.ThrowsAsync<DeviceTrustException>(() => device.BeginAuthenticationAsync("cred-1", Data(tag), "alice", AttestationType.TpmEkCert));
        Assert.Equal("the device's attestation unspecified is weaker than the cluster's minimum tpm_ekcert", error.Message);
        var (fresh, freshTag) = await NewDeviceAsync();
        await Assert.ThrowsAsync<DeviceTrustException>(() => fresh.BeginEnrollmentAsync("cred-1", _key.ExportSubjectPublicKeyInfo(), Data(freshTag), "alice", AttestationType.TpmEkPub));
    }

    [Fact]
    public async Task Drifted_data_cannot_authenticate()
    {
        var (device, tag) = await EnrolledDeviceAsync();
        var error = await Assert.ThrowsAsync<DeviceTrustException>(() => device.BeginAuthenticationAsync("cred-1", Data(tag, version: "11"), "alice", AttestationType.Unspecified));
        Assert.StartsWith("collected data drift detected", error.Message);
    }

    [Fact]
    public async Task The_device_record_survives_deactivation()
    {
        var (device, _) = await EnrolledDeviceAsync();
        await _silo.Cluster.DeactivateAsync(device.GetGrainId());
        var record = (await device.GetAsync())!;
        Assert.Equal(EnrollStatus.Enrolled, record.EnrollStatus);
        Assert.Equal(_key.ExportSubjectPublicKeyInfo(), record.Credential!.PublicKeyDer);
    }
}
