using DeviceTrust.Core.Certificates;
using DeviceTrust.Core.Errors;
using DeviceTrust.Grains.Authorities;

namespace DeviceTrust.Grains.Tests;

/// <summary>
/// The rotation of the CAs on real storage: the steps in their order only (a step out of turn says where the rotation
/// stands and changes nothing), what each step keeps, and every key still opening after a deactivation.
/// </summary>
public sealed class CaRotationGrainTests(SqliteClusterFixture fixture) : IClassFixture<SqliteClusterFixture>
{
    private readonly SiloHarness _silo = fixture.Silo;

    [Fact]
    public async Task The_x509_ca_rotates_start_switch_finish_and_each_step_is_stored()
    {
        var name = "rotate-" + Guid.NewGuid().ToString("N")[..8];
        var grain = _silo.Grains.GetGrain<ICertificateAuthorityGrain>(name);
        var first = await grain.GetOrCreateAsync("test");
        Assert.Equal(new CaRotation(CaRotationPhase.Standby, 0, null), first.Rotation);
        Assert.Null(first.Other);

        var started = await grain.RotateAsync(CaRotationStep.Start, "test");
        Assert.Equal((CaRotationPhase.Published, 1), (started.Rotation.Phase, started.Rotation.Generation));
        Assert.Equal(first.Current.CertificateDer, started.Current.CertificateDer);
        var next = started.Other!;
        using (var nextCa = CertificateAuthority.Load(next.CertificateDer, _silo.MasterKey.Decrypt(next.EncryptedPrivateKey, CertificateAuthorityGrain.KeyPurpose(name))))
        {
            Assert.StartsWith($"CN=test {name} CA 20", nextCa.Certificate.Subject, StringComparison.Ordinal);
        }

        // Stored: a new activation sees the same rotation.
        await _silo.Cluster.DeactivateAsync(grain.GetGrainId());
        var switched = await grain.RotateAsync(CaRotationStep.Switch, "test");
        Assert.Equal((CaRotationPhase.Switched, 2), (switched.Rotation.Phase, switched.Rotation.Generation));
        Assert.Equal(next.CertificateDer, switched.Current.CertificateDer);
        Assert.Equal(first.Current.CertificateDer, switched.Other!.CertificateDer);
        Assert.InRange(switched.Rotation.Changed!.Value, _silo.Clock.GetUtcNow() - TimeSpan.FromMinutes(1), _silo.Clock.GetUtcNow());

        var finished = await grain.RotateAsync(CaRotationStep.Finish, "test");
        Assert.Equal((CaRotationPhase.Standby, 3), (finished.Rotation.Phase, finished.Rotation.Generation));
        Assert.Equal(next.CertificateDer, finished.Current.CertificateDer);
        Assert.Null(finished.Other);
        await _silo.Cluster.DeactivateAsync(grain.GetGrainId());
        Assert.Equal(finished, await grain.GetOrCreateAsync("another name"), new TrustComparer());
    }

    [Theory]
    [InlineData(CaRotationStep.Switch, "the cluster CA cannot switch: its rotation is not under way; start one first")]
    [InlineData(CaRotationStep.Finish, "the cluster CA cannot finish a rotation: its rotation is not under way; start one first")]
    [InlineData(CaRotationStep.Cancel, "the cluster CA cannot cancel a rotation: its rotation is not under way; start one first")]
    public async Task A_step_out_of_turn_is_refused_with_where_the_rotation_stands_and_changes_nothing(CaRotationStep step, string message)
    {
        var grain = _silo.Grains.GetGrain<ICertificateAuthorityGrain>("turn-" + Guid.NewGuid().ToString("N")[..8]);
        var before = await grain.GetOrCreateAsync("test");
        var refused = await Assert.ThrowsAsync<DeviceTrustException>(() => grain.RotateAsync(step, "test"));
        Assert.Equal((ErrorKind.FailedPrecondition, message), (refused.Kind, refused.Message));
        Assert.Equal(before, await grain.GetOrCreateAsync("test"), new TrustComparer());
    }

    [Fact]
    public async Task A_started_rotation_cannot_start_again_or_finish_and_cancelling_it_drops_the_next_ca()
    {
        var grain = _silo.Grains.GetGrain<ISshAuthorityGrain>("cancel-" + Guid.NewGuid().ToString("N")[..8]);
        var before = await grain.GetOrCreateAsync();
        var started = await grain.RotateAsync(CaRotationStep.Start);
        Assert.NotNull(started.Other);
        var again = await Assert.ThrowsAsync<DeviceTrustException>(() => grain.RotateAsync(CaRotationStep.Start));
        Assert.EndsWith("cannot start a rotation: its rotation is started (the next CA is published, the current one still signs); switch or cancel it",
            again.Message, StringComparison.Ordinal);
        var finish = await Assert.ThrowsAsync<DeviceTrustException>(() => grain.RotateAsync(CaRotationStep.Finish));
        Assert.EndsWith("cannot finish a rotation: its rotation is started (the next CA is published, the current one still signs); switch or cancel it",
            finish.Message, StringComparison.Ordinal);

        var cancelled = await grain.RotateAsync(CaRotationStep.Cancel);
        Assert.Equal((CaRotationPhase.Standby, 2), (cancelled.Rotation.Phase, cancelled.Rotation.Generation));
        Assert.Equal(before.Current.EncryptedPrivateKey, cancelled.Current.EncryptedPrivateKey);
        Assert.Null(cancelled.Other);
    }

    [Fact]
    public async Task A_master_key_rewrap_moves_both_keys_of_a_rotation()
    {
        var name = "rewrap-" + Guid.NewGuid().ToString("N")[..8];
        var grain = _silo.Grains.GetGrain<ISshAuthorityGrain>(name);
        await grain.GetOrCreateAsync();
        var started = await grain.RotateAsync(CaRotationStep.Start);
        // Nothing is under a previous key here, so there is nothing to move; both keys open under the current one.
        Assert.False(await grain.RewrapAsync());
        foreach (var key in new[] { started.Current.EncryptedPrivateKey, started.Other!.EncryptedPrivateKey })
        {
            _silo.MasterKey.Decrypt(key, SshAuthorityGrain.KeyPurpose(name), out var underCurrent);
            Assert.True(underCurrent);
        }
    }

    /// <summary>Records holding byte arrays compare by reference; these compare by content.</summary>
    private sealed class TrustComparer : IEqualityComparer<CaTrust>
    {
        public bool Equals(CaTrust? x, CaTrust? y) =>
            x!.Rotation == y!.Rotation && Same(x.Current, y.Current) && (x.Other is null ? y.Other is null : y.Other is not null && Same(x.Other, y.Other));

        private static bool Same(CaMaterial a, CaMaterial b) =>
            a.CertificateDer.AsSpan().SequenceEqual(b.CertificateDer) && a.EncryptedPrivateKey.AsSpan().SequenceEqual(b.EncryptedPrivateKey);

        public int GetHashCode(CaTrust obj) => obj.Rotation.GetHashCode();
    }
}
