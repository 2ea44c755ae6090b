using System.Security.Cryptography;
using DeviceTrust.Core.Devices;
using DeviceTrust.Core.Errors;
using DeviceTrust.Core.Secrets;
using DeviceTrust.Grains.Attestation;
using DeviceTrust.Grains.Inventory;
using DeviceTrust.Grains.Tokens;

namespace DeviceTrust.Grains.Tests;

public sealed class DeviceGrainOnSqliteTests(SqliteClusterFixture fixture) : DeviceGrainBehaviour(fixture.Silo), IClassFixture<SqliteClusterFixture>;

public sealed class DeviceGrainOnPostgresTests(PostgresClusterFixture fixture) : DeviceGrainBehaviour(fixture.Silo), IClassFixture<PostgresClusterFixture>;

/// <summary>
/// The device, asset tag and token grains on real storage. Every refusal asserts its kind, its exact reason, and
/// that the stored record did not change.
/// </summary>
public abstract class DeviceGrainBehaviour(SiloHarness silo) : IDisposable
{
    private readonly ECDsa _key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private static readonly DeviceUser Alice = new(Guid.NewGuid().ToString(), "alice");
    private static readonly DeviceUser Bob = new(Guid.NewGuid().ToString(), "bob");

    public void Dispose() => _key.Dispose();

    private CollectedData Data(string serial, string version = "12") =>
        new(silo.Clock.GetUtcNow(), silo.Clock.GetUtcNow(), OsType.Linux, serial, "", version, "", "alice", "debian", "", "", "");

    private static async Task<DeviceTrustException> Refused(Func<Task> call) => await Assert.ThrowsAsync<DeviceTrustException>(call);

    private static void Is(ErrorKind kind, string message, DeviceTrustException error)
    {
        Assert.Equal(message, error.Message);
        Assert.Equal(kind, error.Kind);
    }

    private async Task<(IDeviceGrain Grain, string Tag)> NewDeviceAsync()
    {
        var tag = "SN" + Guid.NewGuid().ToString("N")[..10].ToUpperInvariant();
        var record = await silo.Grains.GetGrain<IAssetTagGrain>(AssetTags.Key(OsType.Linux, tag))
            .CreateDeviceAsync(Guid.NewGuid(), OsType.Linux, tag, DeviceSource.Api, "admin");
        return (silo.Grains.GetGrain<IDeviceGrain>(record.Id), tag);
    }

    private async Task<(IDeviceGrain Grain, string Tag)> EnrolledDeviceAsync(DeviceUser? owner = null)
    {
        var (device, tag) = await NewDeviceAsync();
        var challenge = await device.BeginEnrollmentAsync("cred-1", _key.ExportSubjectPublicKeyInfo(), Data(tag), owner ?? Alice, DevicePolicy.Open);
        await device.CompleteEnrollmentAsync(challenge.Ceremony, KeyChallenge.Sign(_key, challenge.Bytes));
        return (device, tag);
    }

    private async Task<DeviceRecord> AuthenticateAsync(IDeviceGrain device, string tag, DeviceUser user)
    {
        var challenge = await device.BeginAuthenticationAsync("cred-1", Data(tag), user, DevicePolicy.Open);
        return await device.CompleteAuthenticationAsync(challenge.Ceremony, KeyChallenge.Sign(_key, challenge.Bytes));
    }

    private static async Task<string> StoredAsync(IDeviceGrain device) =>
        System.Text.Json.JsonSerializer.Serialize(await device.GetAsync(), Grains.Serialization.DeviceTrustSerialization.Json);

    [Fact]
    public async Task Of_100_concurrent_spenders_of_one_token_exactly_one_gets_the_device()
    {
        var deviceId = Guid.NewGuid();
        var token = silo.Grains.GetGrain<IEnrollTokenGrain>(SecretToken.HashHex(SecretToken.New()));
        await token.CreateAsync(deviceId, silo.Clock.GetUtcNow().AddHours(1), "admin", autoEnroll: false);
        var outcomes = await Task.WhenAll(Enumerable.Range(0, 100).Select(async _ =>
        {
            try
            {
                return (await token.SpendAsync(spenderMayEnroll: false)).DeviceId.ToString();
            }
            catch (DeviceTrustException e)
            {
                return $"{e.Kind}: {e.Message}";
            }
        }));
        Assert.Equal(deviceId.ToString(), Assert.Single(outcomes, o => o == deviceId.ToString()));
        Assert.Equal(99, outcomes.Count(o => o == "PermissionDenied: invalid device enrollment token: already spent"));
    }

    [Fact]
    public async Task A_spent_token_stays_spent_after_deactivation()
    {
        var token = silo.Grains.GetGrain<IEnrollTokenGrain>(SecretToken.HashHex(SecretToken.New()));
        await token.CreateAsync(Guid.NewGuid(), silo.Clock.GetUtcNow().AddHours(1), "admin", false);
        await token.SpendAsync(false);
        await silo.Cluster.DeactivateAsync(token.GetGrainId());
        Is(ErrorKind.PermissionDenied, "invalid device enrollment token: already spent", await Refused(() => token.SpendAsync(false)));
    }

    [Fact]
    public async Task Expired_and_unknown_tokens_are_refused_with_their_reason()
    {
        var token = silo.Grains.GetGrain<IEnrollTokenGrain>(SecretToken.HashHex(SecretToken.New()));
        await token.CreateAsync(Guid.NewGuid(), silo.Clock.GetUtcNow().AddMinutes(5), "admin", false);
        silo.Clock.Advance(TimeSpan.FromMinutes(6));
        Is(ErrorKind.PermissionDenied, "invalid device enrollment token: expired", await Refused(() => token.SpendAsync(false)));
        var unknown = silo.Grains.GetGrain<IEnrollTokenGrain>(SecretToken.HashHex(SecretToken.New()));
        Is(ErrorKind.PermissionDenied, "invalid device enrollment token: unknown token", await Refused(() => unknown.SpendAsync(false)));
    }

    [Fact]
    public async Task An_auto_enrollment_token_needs_the_enroll_verb_and_stays_unspent_without_it()
    {
        var deviceId = Guid.NewGuid();
        var token = silo.Grains.GetGrain<IEnrollTokenGrain>(SecretToken.HashHex(SecretToken.New()));
        await token.CreateAsync(deviceId, silo.Clock.GetUtcNow().AddHours(1), "auto-enrollment", autoEnroll: true);
        Is(ErrorKind.PermissionDenied, "invalid device enrollment token: an auto-enrollment token needs the device: enroll verb (role device-enroll)",
            await Refused(() => token.SpendAsync(spenderMayEnroll: false)));
        var spent = await token.SpendAsync(spenderMayEnroll: true);
        Assert.Equal(deviceId, spent.DeviceId);
        Assert.True(spent.AutoEnroll);
    }

    [Fact]
    public async Task Only_one_of_ten_concurrent_creations_of_an_asset_tag_wins()
    {
        var tag = "SN" + Guid.NewGuid().ToString("N")[..10].ToUpperInvariant();
        var grain = silo.Grains.GetGrain<IAssetTagGrain>(AssetTags.Key(OsType.Linux, tag));
        var outcomes = await Task.WhenAll(Enumerable.Range(0, 10).Select(async _ =>
        {
            try
            {
                await grain.CreateDeviceAsync(Guid.NewGuid(), OsType.Linux, tag, DeviceSource.Api, "admin");
                return "created";
            }
            catch (DeviceTrustException e)
            {
                return $"{e.Kind}: {e.Message}";
            }
        }));
        Assert.Single(outcomes, o => o == "created");
        Assert.Equal(9, outcomes.Count(o => o == $"AlreadyExists: device {tag}/linux is already in the inventory"));
        // the same tag on another OS is another device
        await silo.Grains.GetGrain<IAssetTagGrain>(AssetTags.Key(OsType.MacOS, tag)).CreateDeviceAsync(Guid.NewGuid(), OsType.MacOS, tag, DeviceSource.Api, "admin");
    }

    [Theory]
    [InlineData("AB{0}CD")]
    [InlineData("{{}}%7B%")]
    public async Task Asset_tags_with_format_braces_are_stored_and_found(string tag)
    {
        var id = Guid.NewGuid();
        var holder = silo.Grains.GetGrain<IAssetTagGrain>(AssetTags.Key(OsType.Linux, tag + id.ToString("N")[..4]));
        var device = await holder.CreateDeviceAsync(id, OsType.Linux, tag + id.ToString("N")[..4], DeviceSource.Api, "admin");
        await silo.Cluster.DeactivateAsync(holder.GetGrainId());
        Assert.Equal(id, await holder.GetAsync());
        Assert.Equal(device.AssetTag, (await silo.Grains.GetGrain<IDeviceGrain>(id).GetAsync())!.AssetTag);
    }

    [Fact]
    public async Task A_tag_whose_device_was_deleted_can_be_used_again()
    {
        var (device, tag) = await NewDeviceAsync();
        var removed = await device.DeleteAsync();
        var grain = silo.Grains.GetGrain<IAssetTagGrain>(removed.AssetTagKey);
        Assert.Null(await grain.GetAsync());
        await grain.CreateDeviceAsync(Guid.NewGuid(), OsType.Linux, tag, DeviceSource.Api, "admin");
    }

    [Fact]
    public async Task Enrollment_records_the_credential_the_owner_by_id_and_the_data()
    {
        var (device, tag) = await EnrolledDeviceAsync();
        var record = (await device.GetAsync())!;
        Assert.Equal(EnrollStatus.Enrolled, record.EnrollStatus);
        Assert.Equal("cred-1", record.Credential!.Id);
        Assert.Equal(AttestationType.Unspecified, record.Credential.AttestationType);
        Assert.Equal("alice", record.Owner);
        Assert.Equal(Alice.Id, record.OwnerId);
        Assert.Empty(record.Users);
        Assert.Equal(tag, Assert.Single(record.CollectedData).SerialNumber);
    }

    [Fact]
    public async Task A_signature_by_another_key_is_refused_and_the_challenge_is_spent()
    {
        var (device, tag) = await NewDeviceAsync();
        var before = await StoredAsync(device);
        using var other = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var challenge = await device.BeginEnrollmentAsync("cred-1", _key.ExportSubjectPublicKeyInfo(), Data(tag), Alice, DevicePolicy.Open);
        Is(ErrorKind.PermissionDenied, "the challenge signature does not verify with the device's key",
            await Refused(() => device.CompleteEnrollmentAsync(challenge.Ceremony, KeyChallenge.Sign(other, challenge.Bytes))));
        // the right signature now comes too late: one answer per challenge
        Is(ErrorKind.Aborted, "no such ceremony in progress for this device (it was completed, it expired, or the cluster node holding it left): start again",
            await Refused(() => device.CompleteEnrollmentAsync(challenge.Ceremony, KeyChallenge.Sign(_key, challenge.Bytes))));
        Assert.Equal(before, await StoredAsync(device));
    }

    [Fact]
    public async Task A_replayed_signature_is_refused()
    {
        var (device, tag) = await EnrolledDeviceAsync();
        var first = await device.BeginAuthenticationAsync("cred-1", Data(tag), Alice, DevicePolicy.Open);
        var signature = KeyChallenge.Sign(_key, first.Bytes);
        await device.CompleteAuthenticationAsync(first.Ceremony, signature);
        var before = await StoredAsync(device);
        Is(ErrorKind.Aborted, "no such ceremony in progress for this device (it was completed, it expired, or the cluster node holding it left): start again",
            await Refused(() => device.CompleteAuthenticationAsync(first.Ceremony, signature)));
        var second = await device.BeginAuthenticationAsync("cred-1", Data(tag), Alice, DevicePolicy.Open);
        Is(ErrorKind.PermissionDenied, "the challenge signature does not verify with the device's key",
            await Refused(() => device.CompleteAuthenticationAsync(second.Ceremony, signature)));
        Assert.Equal(before, await StoredAsync(device));
    }

    [Fact]
    public async Task Ceremonies_of_one_device_run_side_by_side_and_none_cancels_another()
    {
        var (device, tag) = await EnrolledDeviceAsync();
        var first = await device.BeginAuthenticationAsync("cred-1", Data(tag), Alice, DevicePolicy.Open);
        var second = await device.BeginAuthenticationAsync("cred-1", Data(tag), Alice, DevicePolicy.Open);
        Assert.NotEqual(first.Ceremony, second.Ceremony);
        Assert.NotEqual(first.Bytes, second.Bytes);
        // answered out of order, both succeed; an answer to one does not fit the other
        Is(ErrorKind.PermissionDenied, "the challenge signature does not verify with the device's key",
            await Refused(() => device.CompleteAuthenticationAsync(second.Ceremony, KeyChallenge.Sign(_key, first.Bytes))));
        var third = await device.BeginAuthenticationAsync("cred-1", Data(tag), Alice, DevicePolicy.Open);
        await device.CompleteAuthenticationAsync(third.Ceremony, KeyChallenge.Sign(_key, third.Bytes));
        await device.CompleteAuthenticationAsync(first.Ceremony, KeyChallenge.Sign(_key, first.Bytes));
    }

    [Fact]
    public async Task Someone_who_is_not_owner_or_user_cannot_begin_and_the_owners_ceremony_is_untouched()
    {
        var (device, tag) = await EnrolledDeviceAsync();
        var record = (await device.GetAsync())!;
        var owners = await device.BeginAuthenticationAsync("cred-1", Data(tag), Alice, DevicePolicy.Open);
        var before = await StoredAsync(device);
        Is(ErrorKind.PermissionDenied,
            $"user bob may not authenticate device {tag}/linux: it was enrolled by alice (user id {Alice.Id}); " +
            $"an administrator can allow it with: dtctl devices update --device-id {record.Id} --add-user bob",
            await Refused(() => device.BeginAuthenticationAsync("cred-1", Data(tag), Bob, DevicePolicy.Open)));
        // a re-created "alice" is another user: the name alone is not enough
        await Refused(() => device.BeginAuthenticationAsync("cred-1", Data(tag), Alice with { Id = Guid.NewGuid().ToString() }, DevicePolicy.Open));
        Assert.Equal(before, await StoredAsync(device));
        await device.CompleteAuthenticationAsync(owners.Ceremony, KeyChallenge.Sign(_key, owners.Bytes));
    }

    [Fact]
    public async Task Users_an_administrator_adds_may_authenticate_until_they_are_removed()
    {
        var (device, tag) = await EnrolledDeviceAsync();
        var added = await device.UpdateAsync(new DeviceUpdate(false, null, [Bob], []));
        Assert.Equal(new[] { Bob }, added.After.Users);
        Assert.Empty(added.Before.Users);
        await AuthenticateAsync(device, tag, Bob);
        var pending = await device.BeginAuthenticationAsync("cred-1", Data(tag), Bob, DevicePolicy.Open);
        await device.UpdateAsync(new DeviceUpdate(false, null, [], ["bob"]));
        // removed while the ceremony ran: the completion checks again
        await Refused(() => device.CompleteAuthenticationAsync(pending.Ceremony, KeyChallenge.Sign(_key, pending.Bytes)));
        await Refused(() => device.BeginAuthenticationAsync("cred-1", Data(tag), Bob, DevicePolicy.Open));
        Is(ErrorKind.NotFound, "not a user of this device: bob", await Refused(() => device.UpdateAsync(new DeviceUpdate(false, null, [], ["bob"]))));
    }

    [Fact]
    public async Task Users_cannot_be_added_to_a_device_that_is_not_enrolled()
    {
        var (device, tag) = await NewDeviceAsync();
        var before = await StoredAsync(device);
        Is(ErrorKind.FailedPrecondition, $"device {tag}/linux is not enrolled: users can be added once it is",
            await Refused(() => device.UpdateAsync(new DeviceUpdate(false, null, [Bob], []))));
        Assert.Equal(before, await StoredAsync(device));
    }

    [Fact]
    public async Task A_device_enrolled_before_owner_ids_is_usable_only_by_users_an_administrator_adds()
    {
        var (device, tag) = await EnrolledDeviceAsync(new DeviceUser("", "alice"));
        var record = (await device.GetAsync())!;
        Is(ErrorKind.PermissionDenied,
            $"user alice may not authenticate device {tag}/linux: it was enrolled before devices recorded their owner's id; " +
            $"an administrator can allow it with: dtctl devices update --device-id {record.Id} --add-user alice, or enroll it again",
            await Refused(() => device.BeginAuthenticationAsync("cred-1", Data(tag), Alice, DevicePolicy.Open)));
        await device.UpdateAsync(new DeviceUpdate(false, null, [Alice], []));
        await AuthenticateAsync(device, tag, Alice);
    }

    [Fact]
    public async Task A_device_holds_at_most_sixteen_ceremonies_at_once()
    {
        var (device, tag) = await EnrolledDeviceAsync();
        for (var i = 0; i < 16; i++)
        {
            await device.BeginAuthenticationAsync("cred-1", Data(tag), Alice, DevicePolicy.Open);
        }
        var error = await Refused(() => device.BeginAuthenticationAsync("cred-1", Data(tag), Alice, DevicePolicy.Open));
        Is(ErrorKind.ResourceExhausted, "this device already has 16 ceremonies in progress: finish one or wait a minute", error);
        // expired ones make room
        silo.Clock.Advance(TimeSpan.FromSeconds(61));
        await AuthenticateAsync(device, tag, Alice);
    }

    [Fact]
    public async Task A_challenge_expires_after_sixty_seconds()
    {
        var (device, tag) = await EnrolledDeviceAsync();
        var challenge = await device.BeginAuthenticationAsync("cred-1", Data(tag), Alice, DevicePolicy.Open);
        silo.Clock.Advance(TimeSpan.FromSeconds(61));
        var before = await StoredAsync(device);
        Is(ErrorKind.FailedPrecondition, "the challenge expired: start the ceremony again",
            await Refused(() => device.CompleteAuthenticationAsync(challenge.Ceremony, KeyChallenge.Sign(_key, challenge.Bytes))));
        Assert.Equal(before, await StoredAsync(device));
    }

    [Fact]
    public async Task Authentication_keeps_the_enrollment_record_and_the_last_ten()
    {
        var (device, tag) = await EnrolledDeviceAsync();
        for (var i = 0; i < 12; i++)
        {
            var challenge = await device.BeginAuthenticationAsync("cred-1", Data(tag, version: $"12.{i}"), Alice, DevicePolicy.Open);
            await device.CompleteAuthenticationAsync(challenge.Ceremony, KeyChallenge.Sign(_key, challenge.Bytes));
        }
        var record = (await device.GetAsync())!;
        Assert.Equal(11, record.CollectedData.Count);
        Assert.Equal("12", record.CollectedData[0].OsVersion);
        Assert.Equal("12.11", record.CollectedData[^1].OsVersion);
    }

    [Fact]
    public async Task Unenrolling_removes_credential_owner_and_users_and_kills_pending_challenges()
    {
        var (device, tag) = await EnrolledDeviceAsync();
        await device.UpdateAsync(new DeviceUpdate(false, null, [Bob], []));
        var challenge = await device.BeginAuthenticationAsync("cred-1", Data(tag), Alice, DevicePolicy.Open);
        var change = await device.UpdateAsync(new DeviceUpdate(true, null, [], []));
        Assert.Equal(EnrollStatus.NotEnrolled, change.After.EnrollStatus);
        Assert.Null(change.After.Credential);
        Assert.Equal(("", "", 0), (change.After.Owner, change.After.OwnerId, change.After.Users.Count));
        Is(ErrorKind.Aborted, "no such ceremony in progress for this device (it was completed, it expired, or the cluster node holding it left): start again",
            await Refused(() => device.CompleteAuthenticationAsync(challenge.Ceremony, KeyChallenge.Sign(_key, challenge.Bytes))));
        Is(ErrorKind.FailedPrecondition, "device not enrolled",
            await Refused(() => device.BeginAuthenticationAsync("cred-1", Data(tag), Alice, DevicePolicy.Open)));
    }

    [Fact]
    public async Task An_ek_is_pinned_on_a_device_not_yet_enrolled_and_refused_on_a_key_device()
    {
        var pin = new string('b', 64);
        var (fresh, _) = await NewDeviceAsync();
        Assert.Equal(pin, (await fresh.UpdateAsync(new DeviceUpdate(false, null, [], [], pin))).After.PinnedEkSha256);
        Assert.Equal("", (await fresh.UpdateAsync(new DeviceUpdate(false, null, [], [], ""))).After.PinnedEkSha256);
        var (device, tag) = await EnrolledDeviceAsync();
        var before = await StoredAsync(device);
        Is(ErrorKind.FailedPrecondition, $"device {tag}/linux enrolled a key, not a TPM: it has no EK to pin; unenroll it first",
            await Refused(() => device.UpdateAsync(new DeviceUpdate(false, null, [], [], pin))));
        Assert.Equal(before, await StoredAsync(device));
        // unenrolling and pinning in one update: the next enrollment must come from that EK
        var change = await device.UpdateAsync(new DeviceUpdate(true, null, [], [], pin));
        Assert.Equal((EnrollStatus.NotEnrolled, pin), (change.After.EnrollStatus, change.After.PinnedEkSha256));
    }

    [Fact]
    public async Task A_minimum_attestation_above_a_key_refuses_key_devices()
    {
        var (device, tag) = await EnrolledDeviceAsync();
        Is(ErrorKind.PermissionDenied, "the device's attestation unspecified is weaker than the cluster's minimum tpm_ekcert_trusted: " +
                                       "the device needs an EK certificate that chains to an allowed EK CA",
            await Refused(() => device.BeginAuthenticationAsync("cred-1", Data(tag), Alice, DevicePolicy.Open with { MinimumAttestation = AttestationType.TpmEkCertTrusted })));
        var (fresh, freshTag) = await NewDeviceAsync();
        Is(ErrorKind.PermissionDenied, "the device's attestation unspecified is weaker than the cluster's minimum tpm_ekpub_pinned: the device needs " +
                                       "its EK pinned in the inventory (dtctl devices update --ek-hash or --ek-pub) or an EK certificate that chains to an allowed EK CA",
            await Refused(() => fresh.BeginEnrollmentAsync("cred-1", _key.ExportSubjectPublicKeyInfo(), Data(freshTag), Alice, DevicePolicy.Open with { MinimumAttestation = AttestationType.TpmEkPubPinned })));
        Assert.Equal(EnrollStatus.NotEnrolled, (await fresh.GetAsync())!.EnrollStatus);
    }

    [Fact]
    public async Task Drifted_data_cannot_authenticate()
    {
        var (device, tag) = await EnrolledDeviceAsync();
        var before = await StoredAsync(device);
        Is(ErrorKind.PermissionDenied, "collected data drift detected: OS version 11 is older than the last seen 12",
            await Refused(() => device.BeginAuthenticationAsync("cred-1", Data(tag, version: "11"), Alice, DevicePolicy.Open)));
        Assert.Equal(before, await StoredAsync(device));
    }

    [Fact]
    public async Task The_device_record_survives_deactivation()
    {
        var (device, _) = await EnrolledDeviceAsync();
        await device.UpdateAsync(new DeviceUpdate(false, null, [Bob], []));
        await silo.Cluster.DeactivateAsync(device.GetGrainId());
        var record = (await device.GetAsync())!;
        Assert.Equal(EnrollStatus.Enrolled, record.EnrollStatus);
        Assert.Equal(_key.ExportSubjectPublicKeyInfo(), record.Credential!.PublicKeyDer);
        Assert.Equal(Alice.Id, record.OwnerId);
        Assert.Equal(new[] { Bob }, record.Users);
    }
}
