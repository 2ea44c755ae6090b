using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using DeviceTrust.Core.Certificates;
using DeviceTrust.Core.Secrets;
using DeviceTrust.Core.Ssh;
using DeviceTrust.Grains;
using DeviceTrust.Grains.Authorities;
using DeviceTrust.Silo.Hosting;

namespace DeviceTrust.Gateway.Hosting;

/// <summary>
/// Reads the three CAs from the cluster (creating them on the very first start), decrypts the signing keys and hands
/// them to <see cref="ClusterAuthority"/>; again whenever a rotation step changed one of them.
/// </summary>
public sealed class AuthorityLoader(IGrainFactory grains, MasterKey masterKey, ClusterAuthority authority, DeviceTrustHostOptions host,
    GatewayOptions gateway, TimeProvider time, ILogger<AuthorityLoader> log) : IDisposable
{
    private readonly SemaphoreSlim _loading = new(1, 1);

    /// <summary>Loads the CAs if their generations differ from what is loaded (always the first time); true if it loaded.</summary>
    public async Task<bool> RefreshAsync()
    {
        await _loading.WaitAsync();
        try
        {
            var ca = await grains.GetGrain<ICertificateAuthorityGrain>(GrainKeys.UserCa).GetOrCreateAsync(host.ClusterName);
            var users = await grains.GetGrain<ISshAuthorityGrain>(GrainKeys.SshUserCa).GetOrCreateAsync();
            var hosts = await grains.GetGrain<ISshAuthorityGrain>(GrainKeys.SshHostCa).GetOrCreateAsync();
            var generations = new AuthorityGenerations(ca.Rotation.Generation, users.Rotation.Generation, hosts.Rotation.Generation);
            var before = authority.Generations;
            if (before == generations)
            {
                return false;
            }
            var loaded = Decrypt(ca, users, hosts, generations);
            authority.Load(loaded, host.ClusterName, gateway, time);
            if (before is not null)
            {
                log.LogWarning("Loaded the cluster's CAs again after a rotation step: cluster CA {Ca}, SSH user CA {Users}, SSH host CA {Hosts}",
                    Describe(ca.Rotation), Describe(users.Rotation), Describe(hosts.Rotation));
            }
            ReportMasterKeyRotation(loaded.UnderPreviousMasterKey);
            return true;
        }
        finally
        {
            _loading.Release();
        }
    }

    public void Dispose() => _loading.Dispose();

    private static string Describe(CaRotation rotation) => $"{rotation.Phase.ToString().ToLowerInvariant()} (generation {rotation.Generation})";

    private LoadedAuthorities Decrypt(CaTrust ca, SshCaTrust users, SshCaTrust hosts, AuthorityGenerations generations)
    {
        var underPrevious = 0;
        var pkcs8 = masterKey.Decrypt(ca.Current.EncryptedPrivateKey, GrainKeys.CaKeyPurpose(GrainKeys.UserCa), out var current);
        try
        {
            underPrevious += current ? 0 : 1;
            var signing = CertificateAuthority.Load(ca.Current.CertificateDer, pkcs8);
            var (sshUsers, otherUsers) = LoadSsh(users, GrainKeys.SshUserCa, ref underPrevious);
            var (sshHosts, otherHosts) = LoadSsh(hosts, GrainKeys.SshHostCa, ref underPrevious);
            X509Certificate2[] otherCas = ca.Other is { } other ? [X509CertificateLoader.LoadCertificate(other.CertificateDer)] : [];
            return new LoadedAuthorities(signing, otherCas, sshUsers, otherUsers, sshHosts, otherHosts, generations, underPrevious);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(pkcs8);
        }
    }

    /// <summary>The signing SSH CA and the public key of the rotation's other one (its private key is never needed here).</summary>
    private (SshCertificateAuthority Ca, IReadOnlyList<SshPublicKey> Others) LoadSsh(SshCaTrust trust, string name, ref int underPrevious)
    {
        var ca = Open(trust.Current, name, ref underPrevious);
        if (trust.Other is not { } other)
        {
            return (ca, []);
        }
        var ignored = 0;
        using var otherCa = Open(other, name, ref ignored);
        return (ca, [otherCa.PublicKey]);
    }

    private SshCertificateAuthority Open(SshCaMaterial material, string name, ref int underPrevious)
    {
        var pkcs8 = masterKey.Decrypt(material.EncryptedPrivateKey, GrainKeys.SshCaKeyPurpose(name), out var current);
        try
        {
            underPrevious += current ? 0 : 1;
            return SshCertificateAuthority.Load(pkcs8);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(pkcs8);
        }
    }

    /// <summary>Where a master key rotation stands, so that the operator knows the next step.</summary>
    private void ReportMasterKeyRotation(int underPrevious)
    {
        if (underPrevious > 0)
        {
            log.LogWarning("{Count} of the 3 CA keys are still encrypted under the previous master key: once every silo and gateway runs with the new key "
                           + "and DEVICETRUST_PREVIOUS_MASTER_KEY, run dtctl cluster rewrap-secrets", underPrevious);
        }
        else if (masterKey.HasPrevious)
        {
            log.LogWarning("a previous master key is configured, but every CA key is under the current one: remove DEVICETRUST_PREVIOUS_MASTER_KEY");
        }
    }
}

/// <summary>
/// Asks the cluster every few seconds whether a CA rotation took a step (on another gateway), and loads the CAs again
/// when it did: trusting the next CA, signing with it after a switch, dropping the old one after a finish.
/// </summary>
public sealed class AuthorityWatch(AuthorityLoader loader, ClusterAuthority authority, ILogger<AuthorityWatch> log) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                if (!authority.IsReady)
                {
                    continue; // the bootstrap loads them first
                }
                try
                {
                    await loader.RefreshAsync();
                }
                catch (Exception e) when (!stoppingToken.IsCancellationRequested)
                {
                    log.LogWarning("Could not check the cluster's CAs for a rotation step (trying again in {Interval}): {Reason}", Interval, e.Message);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
