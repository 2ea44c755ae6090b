using System.Security.Cryptography;
using DeviceTrust.Core.Audit;
using DeviceTrust.Core.Certificates;
using DeviceTrust.Core.Errors;
using DeviceTrust.Core.Roles;
using DeviceTrust.Core.Secrets;
using DeviceTrust.Core.Ssh;
using DeviceTrust.Core.Users;
using DeviceTrust.Grains;
using DeviceTrust.Grains.Authorities;
using DeviceTrust.Grains.Config;
using DeviceTrust.Grains.ReadModels;
using DeviceTrust.Grains.Users;
using DeviceTrust.Silo.Hosting;

namespace DeviceTrust.Gateway.Hosting;

/// <summary>
/// Runs once the co-hosted silo is up: loads (or, on the very first start, creates) the cluster CA, issues the
/// gateway's TLS certificate, and makes sure someone can log in: on the first start it creates the bootstrap user
/// <c>admin</c> with a one-time invitation, printed and written to <c>{DataDir}/admin-invite</c> (0600).
/// </summary>
public sealed class ClusterBootstrap(
    IGrainFactory grains,
    AuthorityLoader loader,
    ClusterAuthority authority,
    DeviceTrustHostOptions host,
    GatewayOptions gateway,
    IAuditLog audit,
    TimeProvider time,
    ILogger<ClusterBootstrap> log) : IHostedService
{
    public const string AdminUser = "admin";
    public static readonly IReadOnlyList<string> AdminRoles = [PresetRoles.Editor, PresetRoles.DeviceAdmin, PresetRoles.Auditor];

    /// <summary>What the operator must be told at start (the invitation), or null.</summary>
    public string? Notice { get; private set; }

    public string InviteFile => Path.Combine(host.DataDirFullPath, "admin-invite");

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await loader.RefreshAsync();
        await BootstrapAdminAsync();
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Once the bootstrap user has accepted, the invitation file holds a spent secret: it is removed.</summary>
    public void InvitationAccepted(string user)
    {
        if (user == AdminUser)
        {
            RemoveInviteFile();
        }
    }

    private void RemoveInviteFile()
    {
        try
        {
            if (File.Exists(InviteFile))
            {
                File.Delete(InviteFile);
                log.LogInformation("Removed the spent bootstrap invitation {File}", InviteFile);
            }
        }
        catch (IOException e)
        {
            log.LogWarning("Could not remove the spent bootstrap invitation {File}: {Reason}", InviteFile, e.Message);
        }
    }

    private async Task BootstrapAdminAsync()
    {
        var config = grains.GetGrain<IClusterConfigGrain>(GrainKeys.Cluster);
        var admin = grains.GetGrain<IUserGrain>(AdminUser);
        var existing = await admin.GetAsync();
        var now = time.GetUtcNow();
        var bootstrapped = (await config.GetAsync()).Bootstrapped;
        if (bootstrapped && (existing is null || existing.HasPassword))
        {
            // Accepted (perhaps through another gateway, or before this version removed it): the spent invitation goes.
            RemoveInviteFile();
            return;
        }
        if (existing is { InviteExpires: { } expires } && expires > now)
        {
            if (File.Exists(InviteFile))
            {
                Notice = $"The bootstrap user \"{AdminUser}\" has not accepted its invitation yet (valid until {expires:u}); it is in {InviteFile}.";
                return;
            }
            if (host.Cluster.IsDatabase)
            {
                // Several gateways share the cluster: the invitation is in the data folder of the one that made it,
                // and replacing it at every gateway's start would leave the operator holding a dead one.
                Notice = $"The bootstrap user \"{AdminUser}\" has not accepted its invitation yet (valid until {expires:u}); it is in the data folder (admin-invite) of the gateway that made it.";
                return;
            }
        }
        // First start, or an admin who never accepted an invitation that has since expired or been lost: a fresh one.
        var invitation = NewInvitation.For(AdminUser, authority.Ca.Pin, now, gateway.BootstrapInviteTtl);
        UserView created;
        try
        {
            created = existing is null
                ? await admin.CreateAsync(UserKind.Human, AdminRoles, invitation.SecretHash, invitation.Expires)
                : (await admin.ResetAsync(invitation.SecretHash, invitation.Expires)).After;
        }
        catch (DeviceTrustException e) when (e.Kind == ErrorKind.AlreadyExists)
        {
            // Gateways of a new cluster started together: another one created the bootstrap user a moment ago, and
            // its invitation is the one that works.
            Notice = $"The bootstrap user \"{AdminUser}\" was invited by another gateway of this cluster: its data folder has the invitation (admin-invite).";
            return;
        }
        // A state change like any other, made by the cluster itself rather than a caller.
        await audit.AppendAsync(new AuditEntry(now, existing is null ? AuditCodes.UserCreate : AuditCodes.UserReset, true, "(bootstrap)",
            "", "", "", "", "", existing is null
                ? $"bootstrap user {AdminUser} created with roles {string.Join(", ", AdminRoles)}; invitation valid until {invitation.Expires:u}"
                : $"bootstrap user {AdminUser} invited again (the earlier invitation expired or was lost); valid until {invitation.Expires:u}")
        {
            Target = AdminUser,
            Details = $$"""{"user_id":"{{created.Id}}"}""",
        });
        var token = invitation.Token.Encode();
        SecureFile.WriteAllText(InviteFile, token + "\n");
        await config.MarkBootstrappedAsync();
        log.LogInformation("Issued an invitation for the bootstrap user {User}, valid until {Expires:u}, in {File} on {Host}", AdminUser,
            invitation.Expires, InviteFile, Environment.MachineName);
        // The invitation itself is never printed: standard output is a log wherever this runs as a service.
        Notice =
            $"""
             The bootstrap user "{AdminUser}" (roles {string.Join(", ", AdminRoles)}) is invited. Accept the invitation before {invitation.Expires:u}:

               dtsh login --proxy {gateway.Listen} --invite "$(cat {InviteFile})"

             The invitation is in that file on {Environment.MachineName} (mode 0600). It works once.
             """;
    }
}
