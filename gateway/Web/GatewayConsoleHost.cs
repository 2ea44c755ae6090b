using DeviceTrust.Core.Access;
using DeviceTrust.Core.Audit;
using DeviceTrust.Core.Roles;
using DeviceTrust.Core.Users;
using DeviceTrust.Gateway.Administration;
using DeviceTrust.Gateway.Audit;
using DeviceTrust.Gateway.Authentication;
using DeviceTrust.Gateway.Hosting;
using DeviceTrust.Gateway.Policy;
using DeviceTrust.Grains.Roles;
using DeviceTrust.Grains.Users;
using DeviceTrust.Grains.Web;
using DeviceTrust.Web;

namespace DeviceTrust.Gateway.Web;

/// <summary>The web console's view of the gateway: the same password login, role verbs, locks and audit log as the RPCs.</summary>
public sealed class GatewayConsoleHost(
    ClusterAuthority authority,
    PasswordLogin passwords,
    IdentityCache identities,
    DeviceStates devices,
    AccessChecker checker,
    AuditRecorder audit,
    SampledAudit refusals,
    RateLimits limits,
    DeviceAdministration deviceAdministration,
    LockAdministration lockAdministration,
    RoleAdministration roleAdministration,
    TimeProvider time) : IConsoleHost
{
    public string ClusterName => authority.ClusterName;

    public async Task<ConsoleUser> SignInAsync(HttpContext http, string user, string password)
    {
        var record = audit.Begin(AuditCodes.UserLogin, http, UserName.Printable(user)).Detail("via", "web");
        var verified = await AuditedCall.RunAsync(record, refusals, () => passwords.VerifyAsync(record, http.Connection.RemoteIpAddress, user, password));
        await record.SucceededAsync("password login (web console)");
        return Of(verified);
    }

    public async ValueTask<ConsoleUser?> CurrentAsync(string userId, string name)
    {
        if (await identities.GetUserAsync(name) is not { } user || user.Id.ToString() != userId)
        {
            return null;
        }
        await passwords.EnsureNotLockedAsync(user);
        return Of(user);
    }

    public async ValueTask<bool> AllowsAsync(ConsoleUser user, string resource, string verb) =>
        RoleSet.Allows(await identities.RolesAsync(user.Roles), resource, verb);

    public async ValueTask<string?> TrustedDeviceRequiredByAsync(ConsoleUser user)
    {
        var mode = Core.Config.DeviceTrustModes.FailClosed((await identities.ConfigAsync()).DeviceTrust.Mode);
        return AccessRules.TrustedDeviceRequiredBy(mode, user.Kind, await identities.RolesAsync(user.Roles));
    }

    public async ValueTask<string?> DeviceDistrustedAsync(ConsoleUser user, WebSessionDevice device)
    {
        var live = Guid.TryParse(device.DeviceId, out var id) ? await devices.GetAsync(id) : null;
        if (live is null)
        {
            return $"device {device.AssetTag} was deleted";
        }
        if (!live.Enrolled || live.CredentialId != device.CredentialId)
        {
            return $"device {device.AssetTag} is no longer enrolled with the credential it proved";
        }
        if (!live.UserIds.Contains(user.Id.ToString()))
        {
            return $"device {device.AssetTag} is no longer registered to {user.Name}";
        }
        return (await identities.LocksAsync()).Against(user.Id.ToString(), user.Roles, device.DeviceId, time.GetUtcNow()) is [var locked, ..]
            ? locked.Reason
            : null;
    }

    public async Task<ConsoleDecision> CheckMyAccessAsync(HttpContext http, ConsoleUser user, WebSessionDevice? device, string kind, string name, string login)
    {
        // The RPC's own validation of a resource, and the node's labels from the registry.
        var resource = await checker.WithNodeLabelsAsync(
            Services.AccessGrpcService.Resource(new Proto.V1.AccessResource { Kind = kind, Name = name, Login = login }), required: true);
        var live = await identities.GetUserAsync(user.Name) is { } view && view.Id == user.Id
            ? view
            : throw Core.Errors.DeviceTrustException.PermissionDenied("the user changed: log in again");
        var claim = device is null ? null : new Core.Certificates.DeviceExtensions(device.DeviceId, device.AssetTag, device.CredentialId);
        var decision = await checker.DecideAsync(live, claim, resource, ClientAddress.Text(http.Connection.RemoteIpAddress));
        return new ConsoleDecision(decision.Allowed, decision.Reasons, Core.Config.DeviceTrustModes.ToText(decision.Mode), decision.ModeSource,
            decision.TrustedDevice);
    }

    public async Task AuditAsync(HttpContext http, ConsoleEvent entry)
    {
        if (!entry.Success && entry.UserId.Length == 0)
        {
            // A refusal before anyone is known (a forged login form) costs an attacker nothing: sampled, like the
            // interceptor's refusals of calls without a valid certificate, so a flood is not a flood of writes.
            await refusals.RecordAsync(entry.Code, ClientAddress.Text(http.Connection.RemoteIpAddress), entry.User,
                Enum.Parse<Grpc.Core.StatusCode>(entry.Status), entry.Message, entry.Target);
            return;
        }
        var record = audit.Begin(entry.Code, http, entry.User, entry.UserId).Detail("via", "web");
        record.Target = entry.Target;
        record.DeviceId = entry.DeviceId;
        if (entry.Success)
        {
            await record.SucceededAsync(entry.Message);
        }
        else
        {
            await record.FailedAsync(entry.Message, Enum.Parse<Grpc.Core.StatusCode>(entry.Status));
        }
    }

    public async Task AdmitDeviceWebTokenAsync(HttpContext http, ConsoleUser user)
    {
        try
        {
            limits.Admit(nameof(RateLimitsOptions.WebTokensPerUser), user.Id.ToString(), "device web tokens for your user");
        }
        catch (Core.Errors.DeviceTrustException e)
        {
            await refusals.RecordAsync(AuditCodes.RateLimited, ClientAddress.Text(http.Connection.RemoteIpAddress), user.Name,
                Grpc.Core.StatusCode.ResourceExhausted, e.Message);
            throw;
        }
    }

    public async Task<ConsoleEnrollToken> CreateEnrollTokenAsync(HttpContext http, ConsoleUser user, Guid deviceId, TimeSpan ttl)
    {
        if (ttl <= TimeSpan.Zero || ttl > NewInvitation.MaxTtl)
        {
            throw Core.Errors.DeviceTrustException.InvalidArgument($"an enrollment token lasts at most {NewInvitation.MaxTtl.TotalDays:0} days");
        }
        var token = await AdministerAsync(http, user, AuditCodes.DeviceTokenCreate, Resources.Device, "create_enroll_token",
            (record, actor) => deviceAdministration.CreateEnrollTokenAsync(record, actor, http.Connection.RemoteIpAddress, deviceId, ttl));
        return new ConsoleEnrollToken(token.Token, token.Expires);
    }

    public Task UnenrollDeviceAsync(HttpContext http, ConsoleUser user, Guid deviceId) =>
        AdministerAsync(http, user, AuditCodes.DeviceUpdate, Resources.Device, "update",
            (record, _) => deviceAdministration.UpdateAsync(record, deviceId, new Grains.Inventory.DeviceUpdate(true, null, [], [])));

    public Task DeleteDeviceAsync(HttpContext http, ConsoleUser user, Guid deviceId) =>
        AdministerAsync(http, user, AuditCodes.DeviceDelete, Resources.Device, "delete", (record, _) => deviceAdministration.DeleteAsync(record, deviceId));

    public Task<AccessLock> LockAsync(HttpContext http, ConsoleUser user, LockTargetBy by, string target, string message, TimeSpan? ttl) =>
        AdministerAsync(http, user, AuditCodes.LockCreate, Resources.Lock, "create",
            (record, actor) => lockAdministration.CreateAsync(record, actor, by, target, message, ttl));

    public Task RemoveLockAsync(HttpContext http, ConsoleUser user, string lockId) =>
        AdministerAsync(http, user, AuditCodes.LockDelete, Resources.Lock, "delete", (record, _) => lockAdministration.DeleteAsync(record, lockId));

    public Task<RoleDocument> SaveRoleAsync(HttpContext http, ConsoleUser user, string yaml, string? replacing) =>
        AdministerAsync(http, user, AuditCodes.RoleCreate, Resources.Role, "create",
            (record, actor) => roleAdministration.CreateAsync(record, actor, yaml, overwrite: replacing is not null, replacing));

    public Task DeleteRoleAsync(HttpContext http, ConsoleUser user, string name) =>
        AdministerAsync(http, user, AuditCodes.RoleDelete, Resources.Role, "delete", async (record, actor) =>
        {
            await roleAdministration.DeleteAsync(record, actor, name);
            return true;
        });

    /// <summary>
    /// One administrator's action as the interceptor runs an RPC: the user as they are now, the role verb, the action,
    /// and exactly one event under the RPC's code — its success sentence, or the refusal with its real reason (a rate
    /// limit sampled). The same <c>via: web</c> detail as the web login tells the two ways apart.
    /// </summary>
    private async Task<T> AdministerAsync<T>(HttpContext http, ConsoleUser user, string code, string resource, string verb,
        Func<AuditRecord, UserView, Task<T>> action)
    {
        var record = audit.Begin(code, http, user.Name, user.Id.ToString()).Detail("via", "web");
        return await AuditedCall.RunAsync(record, refusals, async () =>
        {
            var live = await identities.GetUserAsync(user.Name) is { } found && found.Id == user.Id
                ? found
                : throw Core.Errors.DeviceTrustException.PermissionDenied("the user changed: log in again");
            if (!await identities.AllowsAsync(live, resource, verb))
            {
                throw GatewayInterceptor.Denied(live, resource, verb);
            }
            var result = await action(record, live);
            await record.SucceededAsync();
            return result;
        });
    }

    private static ConsoleUser Of(UserView user) => new(user.Id, user.Name, user.Kind, user.Roles);
}
