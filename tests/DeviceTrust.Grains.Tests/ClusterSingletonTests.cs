using DeviceTrust.Core.Certificates;
using DeviceTrust.Core.Errors;
using DeviceTrust.Core.Roles;
using DeviceTrust.Core.Secrets;
using DeviceTrust.Grains.Authorities;
using DeviceTrust.Grains.Config;
using DeviceTrust.Grains.Roles;
using DeviceTrust.Testing;

namespace DeviceTrust.Grains.Tests;

public sealed class ClusterSingletonsOnSqliteTests(SqliteClusterFixture fixture) : ClusterSingletonBehaviour(fixture.Silo), IClassFixture<SqliteClusterFixture>;

public sealed class ClusterSingletonsOnPostgresTests(PostgresClusterFixture fixture) : ClusterSingletonBehaviour(fixture.Silo), IClassFixture<PostgresClusterFixture>;

public abstract class ClusterSingletonBehaviour(SiloHarness silo)
{
    private readonly SiloHarness _silo = silo;

    private IRoleRegistryGrain Roles => _silo.Grains.GetGrain<IRoleRegistryGrain>(RoleRegistryGrain.Key);

    private static async Task Refused(ErrorKind kind, string message, Func<Task> call)
    {
        var error = await Assert.ThrowsAsync<DeviceTrustException>(call);
        Assert.Equal(message, error.Message);
        Assert.Equal(kind, error.Kind);
    }

    [Fact]
    public async Task The_preset_roles_are_always_there()
    {
        var names = (await Roles.GetSnapshotAsync()).Roles.Where(r => r.Preset).Select(r => r.Name);
        Assert.Equal(["access", "auditor", "device-admin", "device-enroll", "editor", "require-trusted-device"], names);
    }

    [Fact]
    public async Task A_custom_role_is_stored_canonically_and_bumps_the_version()
    {
        var before = (await Roles.GetSnapshotAsync()).Version;
        var document = (await Roles.CreateAsync("kind: role\nmetadata: {name: support-a}\nspec: {allow: {rules: {user: [list]}}}", overwrite: false)).Document;
        Assert.Contains("user:", document.Yaml);
        var after = await Roles.GetSnapshotAsync();
        Assert.True(after.Version > before);
        Assert.Contains(after.Roles, r => r.Name == "support-a" && !r.Preset);
    }

    [Fact]
    public async Task An_existing_role_is_only_replaced_when_asked()
    {
        await Roles.CreateAsync("kind: role\nmetadata: {name: support-b}\n", overwrite: false);
        await Refused(ErrorKind.AlreadyExists, "role \"support-b\" already exists (use --force to replace it)",
            () => Roles.CreateAsync("kind: role\nmetadata: {name: support-b}\n", overwrite: false));
        await Roles.CreateAsync("kind: role\nmetadata: {name: support-b}\nspec: {allow: {rules: {audit: [list]}}}", overwrite: true);
        Assert.Contains("audit", (await Roles.GetSnapshotAsync()).Roles.Single(r => r.Name == "support-b").Yaml);
    }

    [Fact]
    public async Task Preset_roles_can_be_edited_and_reset_but_not_created_again_or_deleted()
    {
        var roles = _silo.Grains.GetGrain<IRoleRegistryGrain>("edit-" + Guid.NewGuid().ToString("N"));
        var before = await roles.GetSnapshotAsync();
        var shipped = before.Roles.Single(r => r.Name == "access");
        await Refused(ErrorKind.AlreadyExists, "role \"access\" already exists (use --force to replace it)",
            () => roles.CreateAsync("kind: role\nmetadata: {name: access}\n", overwrite: false));
        await Refused(ErrorKind.FailedPrecondition, "role \"editor\" is a preset role and cannot be deleted", () => roles.DeleteAsync("editor"));
        Assert.Equal(before.Version, (await roles.GetSnapshotAsync()).Version);

        var edited = shipped.Yaml.Replace("spec:\n", "spec:\n  options:\n    device_trust_mode: required\n", StringComparison.Ordinal);
        var write = await roles.CreateAsync(edited, overwrite: true);
        Assert.Equal(shipped.Yaml, write.Replaced);
        Assert.True(write.Document.Preset);
        await _silo.Cluster.DeactivateAsync(roles.GetGrainId());
        var now = (await roles.GetSnapshotAsync()).Roles.Single(r => r.Name == "access");
        Assert.Equal((true, Core.Config.DeviceTrustMode.Required), (now.Preset, RoleYaml.Parse(now.Yaml).DeviceTrustMode));
        Assert.Single((await roles.GetSnapshotAsync()).Roles, r => r.Name == "access");

        // deleting the edit brings the preset back as shipped
        await roles.DeleteAsync("access");
        Assert.Equal(shipped, (await roles.GetSnapshotAsync()).Roles.Single(r => r.Name == "access"));
        await Refused(ErrorKind.FailedPrecondition, "role \"access\" is a preset role and cannot be deleted", () => roles.DeleteAsync("access"));
    }

    [Fact]
    public async Task A_malformed_role_changes_nothing()
    {
        var before = await Roles.GetSnapshotAsync();
        await Refused(ErrorKind.InvalidArgument, "line 3: unknown verb \"fly\" for resource user: use one of list, read, create, update, delete or \"*\"",
            () => Roles.CreateAsync("kind: role\nmetadata: {name: broken}\nspec: {allow: {rules: {user: [fly]}}}", false));
        var after = await Roles.GetSnapshotAsync();
        Assert.Equal(before.Version, after.Version);
        Assert.DoesNotContain(after.Roles, r => r.Name == "broken");
    }

    [Fact]
    public async Task A_role_that_is_too_large_in_canonical_form_is_refused_and_nothing_is_stored()
    {
        // short label values fit the input limit as flow lists, but take five times the room in canonical block form
        var values = string.Join(",", Enumerable.Range(0, 256).Select(_ => "v"));
        var labels = string.Join(",", Enumerable.Range(0, 100).Select(i => $"k{i}: [{values}]"));
        var yaml = $"kind: role\nmetadata: {{name: huge}}\nspec: {{allow: {{node_labels: {{{labels}}}}}}}";
        Assert.True(System.Text.Encoding.UTF8.GetByteCount(yaml) <= Core.Roles.RoleYaml.MaxBytes);
        var before = await Roles.GetSnapshotAsync();
        var error = await Assert.ThrowsAsync<DeviceTrustException>(() => Roles.CreateAsync(yaml, false));
        Assert.Equal(ErrorKind.InvalidArgument, error.Kind);
        Assert.Matches(@"^role ""huge"" is \d+ bytes in canonical form, more than 64 KiB$", error.Message);
        Assert.Equal(before.Version, (await Roles.GetSnapshotAsync()).Version);
    }

    [Fact]
    public async Task Aliases_and_deep_nesting_never_reach_the_registry()
    {
        var before = await Roles.GetSnapshotAsync();
        await Refused(ErrorKind.InvalidArgument, "line 2: anchors (&a) are not allowed in role documents",
            () => Roles.CreateAsync("kind: role\nmetadata: &a {name: x}\n", false));
        await Refused(ErrorKind.InvalidArgument, "line 1: the document nests deeper than 16 levels",
            () => Roles.CreateAsync(new string('[', 20000) + new string(']', 20000), false));
        Assert.Equal(before.Version, (await Roles.GetSnapshotAsync()).Version);
    }

    [Fact]
    public async Task Locks_are_versioned_expire_by_themselves_and_survive_deactivation()
    {
        var locks = _silo.Grains.GetGrain<Locks.ILockRegistryGrain>("locks-" + Guid.NewGuid().ToString("N"));
        var empty = (await locks.GetSnapshotIfChangedAsync(-1))!;
        Assert.Empty(empty.Locks);
        Assert.Null(await locks.GetSnapshotIfChangedAsync(empty.Version));
        var now = _silo.Clock.GetUtcNow();
        var lasting = await locks.AddAsync(new Core.Access.AccessLock("a1", Core.Access.LockTargetKind.User, "user-id", "bob", "suspended", now, null, "admin"));
        await locks.AddAsync(new Core.Access.AccessLock("a2", Core.Access.LockTargetKind.Role, "access", "access", "", now, now.AddMinutes(1), "admin"));
        var two = (await locks.GetSnapshotIfChangedAsync(empty.Version))!;
        Assert.Equal(["a1", "a2"], two.Locks.Select(l => l.Id));
        await Refused(ErrorKind.AlreadyExists, "lock a1 exists already", () => locks.AddAsync(lasting));
        _silo.Clock.Advance(TimeSpan.FromMinutes(2));
        await _silo.Cluster.DeactivateAsync(locks.GetGrainId());
        var later = (await locks.GetSnapshotIfChangedAsync(-1))!;
        Assert.Equal(["a1"], later.Locks.Select(l => l.Id));
        Assert.Equal(lasting, await locks.RemoveAsync("a1"));
        await Refused(ErrorKind.NotFound, "lock a1 not found", () => locks.RemoveAsync("a1"));
        Assert.Empty((await locks.GetSnapshotIfChangedAsync(later.Version))!.Locks);
    }

    [Fact]
    public async Task A_node_joins_once_with_its_token_before_it_expires_and_its_state_survives_deactivation()
    {
        var nodes = _silo.Grains.GetGrain<Nodes.INodeRegistryGrain>("nodes-" + Guid.NewGuid().ToString("N"));
        var empty = (await nodes.GetSnapshotIfChangedAsync(-1))!;
        var now = _silo.Clock.GetUtcNow();
        var secret = SecretToken.New();
        var labels = new Dictionary<string, string> { ["env"] = "prod" };
        var pending = await nodes.AddAsync(new Core.Nodes.NodeRecord(Guid.NewGuid(), "web-1", labels, now, "admin", SecretToken.Hash(secret),
            now.AddMinutes(30), null, "", [], ""));
        // a pending node is not in the snapshot gateways decide on
        Assert.Empty((await nodes.GetSnapshotIfChangedAsync(empty.Version))!.Nodes);
        await Refused(ErrorKind.AlreadyExists, "node web-1 is waiting to join with an earlier token: remove it first with dtctl nodes rm web-1",
            () => nodes.AddAsync(pending with { Id = Guid.NewGuid() }));
        var join = new Core.Nodes.NodeJoin("127.0.0.1:22", ["web-1", "127.0.0.1"], "SHA256:x");
        await Refused(ErrorKind.PermissionDenied, "invalid join token: unknown token", () => nodes.JoinAsync("web-1", SecretToken.Hash(SecretToken.New()), join));
        await Refused(ErrorKind.PermissionDenied, "invalid join token: unknown token", () => nodes.JoinAsync("web-2", SecretToken.Hash(secret), join));
        var joined = await nodes.JoinAsync("web-1", SecretToken.Hash(secret), join);
        Assert.Equal(pending.Id, joined.Id);
        Assert.True(await nodes.HeartbeatAsync(joined.Id));
        Assert.False(await nodes.HeartbeatAsync(Guid.NewGuid()));
        await Refused(ErrorKind.PermissionDenied, "invalid join token: already used (a node joins once: dtctl nodes rm, then dtctl nodes add again)",
            () => nodes.JoinAsync("web-1", SecretToken.Hash(secret), join));

        await _silo.Cluster.DeactivateAsync(nodes.GetGrainId());
        var snapshot = (await nodes.GetSnapshotIfChangedAsync(-1))!;
        var stored = Assert.Single(snapshot.Nodes);
        Assert.Equal(("web-1", "prod", "127.0.0.1:22", (byte[]?)null), (stored.Name, stored.Labels["env"], stored.Address, stored.JoinTokenHash));
        // liveness is memory only: unknown after a restart until the next heartbeat
        Assert.Null(Assert.Single(await nodes.ListAsync()).LastSeen);

        // an unused token that expired holds its name for nothing
        var late = SecretToken.New();
        await nodes.AddAsync(pending with { Id = Guid.NewGuid(), Name = "web-3", JoinTokenHash = SecretToken.Hash(late), JoinTokenExpires = now.AddMinutes(1) });
        _silo.Clock.Advance(TimeSpan.FromMinutes(2));
        await Refused(ErrorKind.PermissionDenied, "invalid join token: expired (dtctl nodes rm, then dtctl nodes add again)",
            () => nodes.JoinAsync("web-3", SecretToken.Hash(late), join));
        await nodes.AddAsync(pending with { Id = Guid.NewGuid(), Name = "web-3", JoinTokenExpires = _silo.Clock.GetUtcNow().AddMinutes(30) });

        Assert.Equal(joined.Id, (await nodes.RemoveAsync("web-1")).Id);
        Assert.False(await nodes.HeartbeatAsync(joined.Id));
        await Refused(ErrorKind.NotFound, "node web-1 not found", () => nodes.RemoveAsync("web-1"));
        Assert.Empty((await nodes.GetSnapshotIfChangedAsync(snapshot.Version))!.Nodes);
    }

    [Fact]
    public async Task The_ssh_authorities_are_made_once_and_their_keys_are_stored_encrypted()
    {
        var name = "ssh-" + Guid.NewGuid().ToString("N");
        var first = await _silo.Grains.GetGrain<ISshAuthorityGrain>(name).GetOrCreateAsync();
        await _silo.Cluster.DeactivateAsync(_silo.Grains.GetGrain<ISshAuthorityGrain>(name).GetGrainId());
        var again = await _silo.Grains.GetGrain<ISshAuthorityGrain>(name).GetOrCreateAsync();
        Assert.Equal(first.Current.EncryptedPrivateKey, again.Current.EncryptedPrivateKey);
        using var ca = Core.Ssh.SshCertificateAuthority.Load(_silo.MasterKey.Decrypt(again.Current.EncryptedPrivateKey, SshAuthorityGrain.KeyPurpose(name)));
        Assert.Equal(Core.Ssh.SshPublicKey.EcdsaP256, ca.PublicKey.Type);
        // bound to its purpose: the key of one authority does not open as another's
        Assert.Equal("cannot decrypt a stored secret: the master key is not the one it was encrypted with "
                     + "(rotating it? give the old one as DEVICETRUST_PREVIOUS_MASTER_KEY)",
            Assert.Throws<DeviceTrustException>(() => _silo.MasterKey.Decrypt(again.Current.EncryptedPrivateKey, SshAuthorityGrain.KeyPurpose("other"))).Message);
    }

    [Fact]
    public async Task Deleting_an_unknown_role_is_not_found() =>
        await Refused(ErrorKind.NotFound, "role \"nope\" not found", () => Roles.DeleteAsync("nope"));

    [Fact]
    public async Task The_device_trust_mode_defaults_to_optional_and_refuses_unknown_modes()
    {
        var config = _silo.Grains.GetGrain<IClusterConfigGrain>("mode-test");
        Assert.Equal("optional", (await config.GetAsync()).DeviceTrust.Mode);
        await Refused(ErrorKind.InvalidArgument, "unknown device trust mode \"always\": use off, optional, required or required-for-humans",
            () => config.UpdateDeviceTrustAsync(new DeviceTrustUpdate { Mode = "always" }));
        Assert.Equal("optional", (await config.GetAsync()).DeviceTrust.Mode);
        var updated = (await config.UpdateDeviceTrustAsync(new DeviceTrustUpdate { Mode = "required-for-humans", AutoEnroll = true })).After;
        Assert.Equal("required-for-humans", updated.DeviceTrust.Mode);
        Assert.True(updated.DeviceTrust.AutoEnroll);
    }

    [Fact]
    public async Task A_request_with_one_bad_value_changes_nothing()
    {
        var config = _silo.Grains.GetGrain<IClusterConfigGrain>("atomic-test");
        var before = await config.GetAsync();
        var bad = await Assert.ThrowsAsync<DeviceTrustException>(() => config.UpdateDeviceTrustAsync(new DeviceTrustUpdate { Mode = "required", AutoEnroll = true, EkCertAllowedCas = ["not a certificate"] }));
        Assert.Equal(ErrorKind.InvalidArgument, bad.Kind);
        Assert.StartsWith("an EK CA is not a PEM certificate: ", bad.Message);
        await Refused(ErrorKind.InvalidArgument, "unknown attestation type \"tpm_sometimes\": use unspecified, tpm_ekpub_pinned or tpm_ekcert_trusted",
            () => config.UpdateDeviceTrustAsync(new DeviceTrustUpdate { Mode = "required", MinAttestation = "tpm_sometimes" }));
        var after = await config.GetAsync();
        Assert.Equal(before.Version, after.Version);
        Assert.Equal("optional", after.DeviceTrust.Mode);
        Assert.False(after.DeviceTrust.AutoEnroll);
    }

    [Fact]
    public async Task A_request_with_nothing_to_change_writes_nothing()
    {
        var config = _silo.Grains.GetGrain<IClusterConfigGrain>("noop-test");
        var before = (await config.GetAsync()).Version;
        Assert.Equal(before, (await config.UpdateDeviceTrustAsync(new DeviceTrustUpdate())).After.Version);
    }

    [Fact]
    public async Task Bootstrap_is_marked_exactly_once()
    {
        var config = _silo.Grains.GetGrain<IClusterConfigGrain>("bootstrap-test");
        Assert.True(await config.MarkBootstrappedAsync());
        Assert.False(await config.MarkBootstrappedAsync());
    }

    [Fact]
    public async Task The_ca_is_created_once_with_its_key_encrypted()
    {
        var grain = _silo.Grains.GetGrain<ICertificateAuthorityGrain>("ca-test");
        var first = await grain.GetOrCreateAsync("test");
        var second = await grain.GetOrCreateAsync("other name");
        Assert.Equal(first.Current.CertificateDer, second.Current.CertificateDer);
        using var key = new MasterKey(new byte[MasterKey.KeyBytes]);
        var pkcs8 = key.Decrypt(first.Current.EncryptedPrivateKey, CertificateAuthorityGrain.KeyPurpose("ca-test"));
        using var ca = CertificateAuthority.Load(first.Current.CertificateDer, pkcs8);
        Assert.DoesNotContain(Convert.ToBase64String(pkcs8), await StoredTextAsync());
    }

    private async Task<string> StoredTextAsync()
    {
        await using var connection = Silo.Database.DatabaseSchema.Open(_silo.Options.Storage, _silo.Options.Storage.ConnectionStringFor(_silo.Options));
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = _silo.Options.Storage.IsSqlite
            ? "SELECT group_concat(payload, '') FROM grain_state"
            : "SELECT string_agg(payload::text, '') FROM grain_state";
        return (string)(await command.ExecuteScalarAsync())!;
    }
}
