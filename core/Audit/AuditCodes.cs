namespace DeviceTrust.Core.Audit;

/// <summary>
/// The stable codes of audit events (the "type" column): SIEM rules are written against them, so a code is never
/// renamed or re-used for something else. docs/audit.md has the table with what each records.
/// </summary>
public static class AuditCodes
{
    // people and their credentials
    public const string UserLogin = "user.login";
    public const string UserInvitationAccept = "user.invitation.accept";
    public const string UserLoginDelay = "user.login.delay";
    public const string UserLogout = "user.logout";
    public const string UserLoginDelayReset = "user.login.delay_reset";
    public const string UserWhoAmI = "user.whoami";
    public const string UserCreate = "user.create";
    public const string UserGet = "user.get";
    public const string UserList = "user.list";
    public const string UserUpdate = "user.update";
    public const string UserReset = "user.reset";
    public const string UserDelete = "user.delete";

    // roles and cluster configuration
    public const string RoleList = "role.list";
    public const string RoleGet = "role.get";
    public const string RoleCreate = "role.create";
    public const string RoleUpdate = "role.update";
    public const string RoleDelete = "role.delete";
    public const string ConfigGet = "cluster_config.get";
    public const string ClusterStatus = "cluster.status";
    public const string ConfigUpdate = "cluster_config.update";
    public const string SecretsRewrap = "cluster.secrets_rewrap";
    public const string CaRotate = "cluster.ca_rotate";
    public const string CaStatus = "cluster.ca_status";

    // the inventory and the ceremonies
    public const string DeviceCreate = "device.create";
    public const string DeviceBulkCreate = "device.bulk_create";
    public const string DeviceSync = "device.sync";
    public const string DeviceGet = "device.get";
    public const string DeviceFind = "device.find";
    public const string DeviceList = "device.list";
    public const string DeviceListMine = "device.list_mine";
    public const string DeviceUpdate = "device.update";
    public const string DeviceDelete = "device.delete";
    public const string DeviceTokenCreate = "device.token.create";
    public const string DeviceTokenSweep = "device.token.sweep";
    public const string DeviceEnroll = "device.enroll";
    public const string DeviceAuthenticate = "device.authenticate";
    public const string DeviceWebTokenCreate = "device.web_token.create";
    public const string DeviceWebAuthenticate = "device.web_authenticate";
    public const string DeviceWebConfirm = "device.web_confirm";

    // locks
    public const string LockCreate = "lock.create";
    public const string LockList = "lock.list";
    public const string LockDelete = "lock.delete";

    // SSH nodes
    public const string NodeCreate = "node.create";
    public const string NodeList = "node.list";
    public const string NodeDelete = "node.delete";
    public const string NodeJoin = "node.join";
    public const string NodeHeartbeat = "node.heartbeat";
    public const string NodeRenew = "node.renew";
    public const string NodeAuthorize = "node.authorize";

    // access decisions
    public const string AccessAllow = "access.allow";
    public const string AccessDeny = "access.deny";
    public const string AccessCheck = "access.check";
    public const string AccessCheckMine = "access.check_mine";

    public const string AuditList = "audit.list";
    public const string ClusterInfo = "cluster.info";

    // refusals before any method runs, sampled when they flood
    public const string Unauthenticated = "auth.unauthenticated";
    public const string RateLimited = "ratelimit.refused";
    public const string MalformedRequest = "request.malformed";
    public const string ConnectionRefused = "connection.refused";

    // the web console
    public const string WebCsrfRefused = "web.csrf_refused";
    public const string WebSweep = "web.sweep";
}
