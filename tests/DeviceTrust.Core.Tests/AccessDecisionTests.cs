using DeviceTrust.Core.Access;
using DeviceTrust.Core.Config;
using DeviceTrust.Core.Roles;
using DeviceTrust.Core.Users;

namespace DeviceTrust.Core.Tests;

/// <summary>The access decision over the combinations DESIGN.md and the seed guide name.</summary>
public sealed class AccessDecisionTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);
    private const string BobId = "0b0b0b0b-0000-4000-8000-000000000001";

    private static Role Preset(string name) => PresetRoles.All.Single(r => r.Name == name);

    private static readonly Role ProdOnlyStrict = RoleYaml.Parse(
        "kind: role\nmetadata: {name: prod-strict}\nspec: {options: {device_trust_mode: required}, allow: {logins: [root], node_labels: {env: [prod]}}}");

    private static readonly Role Relaxed = RoleYaml.Parse(
        "kind: role\nmetadata: {name: relaxed}\nspec: {options: {device_trust_mode: off}, allow: {logins: [root], node_labels: {'*': '*'}}}");

    private static AccessSubject Bob(UserKind kind = UserKind.Human, params Role[] roles) =>
        new(BobId, "bob", kind, roles.Length == 0 ? [Preset(PresetRoles.Access)] : roles);

    private static AccessResource Node(string env = "prod", string login = "root") =>
        new(ResourceKind.Ssh, "web-1", new Dictionary<string, string> { ["env"] = env }, login);

    private static readonly AccessResource Grafana = new(ResourceKind.App, "grafana", new Dictionary<string, string>());

    private static DeviceEvidence Trusted(string credential = "cred-1") =>
        new("dev-1", "C02XYZ", "cred-1", new LiveDevice(true, credential, [BobId]));

    private static AccessDecision Decide(AccessSubject subject, DeviceEvidence? device, string mode, AccessResource? resource = null, params AccessLock[] locks) =>
        AccessRules.Decide(subject, device, mode, locks, resource ?? Node(), Now);

    public static TheoryData<string, string, bool, bool, bool> Modes => new()
    {
        // cluster mode, role, trusted device?, bot?, allowed
        { "optional", PresetRoles.Access, false, false, true },
        { "optional", PresetRoles.RequireTrustedDevice, false, false, false },
        { "optional", PresetRoles.RequireTrustedDevice, true, false, true },
        { "required", PresetRoles.Access, false, false, false },
        { "required", PresetRoles.Access, true, false, true },
        { "required", PresetRoles.Access, false, true, false },
        { "required-for-humans", PresetRoles.Access, false, false, false },
        { "required-for-humans", PresetRoles.Access, false, true, true },
        { "required-for-humans", PresetRoles.RequireTrustedDevice, false, true, false },
        { "off", PresetRoles.RequireTrustedDevice, false, false, true },
        { "off", PresetRoles.Access, false, false, true },
        { "sometimes", PresetRoles.Access, false, false, false },
        { "sometimes", PresetRoles.Access, true, false, true },
    };

    [Theory]
    [MemberData(nameof(Modes))]
    public void The_cluster_mode_and_the_role_mode_decide_whether_ssh_needs_a_trusted_device(string cluster, string role, bool trusted, bool bot, bool allowed)
    {
        var decision = Decide(Bob(bot ? UserKind.Bot : UserKind.Human, Preset(role)), trusted ? Trusted() : null, cluster);
        Assert.Equal(allowed, decision.Allowed);
        Assert.Equal(allowed ? "" : "access to root@web-1 requires a trusted device: enroll this device (dtsh device enroll) and log in again", decision.Reason);
    }

    [Theory]
    [InlineData("required", true)]
    [InlineData("required-for-humans", true)]
    [InlineData("optional", true)]
    public void Apps_follow_roles_only_not_the_cluster_mode(string cluster, bool allowed)
    {
        Assert.Equal(allowed, Decide(Bob(), null, cluster, Grafana).Allowed);
        var strict = Decide(Bob(UserKind.Human, Preset(PresetRoles.RequireTrustedDevice)), null, cluster, Grafana);
        Assert.False(strict.Allowed);
        Assert.Equal("access to app grafana requires a trusted device: enroll this device (dtsh device enroll) and log in again", strict.Reason);
        Assert.Equal("role require-trusted-device", strict.ModeSource);
    }

    [Theory]
    [InlineData(ResourceKind.Db, false)]
    [InlineData(ResourceKind.Kube, false)]
    [InlineData(ResourceKind.Desktop, true)]
    public void The_cluster_mode_covers_databases_and_kubernetes_not_desktops(ResourceKind kind, bool allowed) =>
        Assert.Equal(allowed, Decide(Bob(), null, "required", new AccessResource(kind, "x", new Dictionary<string, string>())).Allowed);

    [Fact]
    public void A_roles_mode_applies_only_to_what_that_role_reaches()
    {
        var subject = Bob(UserKind.Human, Preset(PresetRoles.Access), ProdOnlyStrict);
        var dev = Decide(subject, null, "optional", Node("dev"));
        Assert.True(dev.Allowed);
        Assert.Equal(["access"], dev.MatchedRoles);
        var prod = Decide(subject, null, "optional", Node("prod"));
        Assert.False(prod.Allowed);
        Assert.Equal((DeviceTrustMode.Required, "role prod-strict"), (prod.Mode, prod.ModeSource));
        Assert.Equal(["access", "prod-strict"], prod.MatchedRoles);
    }

    [Fact]
    public void The_strictest_applicable_mode_wins_and_a_relaxed_role_cannot_undo_the_cluster_mode()
    {
        var relaxed = Decide(Bob(UserKind.Human, Relaxed), null, "required");
        Assert.False(relaxed.Allowed);
        Assert.Equal((DeviceTrustMode.Required, "cluster mode required"), (relaxed.Mode, relaxed.ModeSource));
        var both = Decide(Bob(UserKind.Human, Relaxed, Preset(PresetRoles.RequireTrustedDevice)), null, "optional");
        Assert.Equal((false, DeviceTrustMode.Required), (both.Allowed, both.Mode));
    }

    [Fact]
    public void A_login_or_node_no_role_reaches_is_denied()
    {
        var login = Decide(Bob(), Trusted(), "optional", Node(login: "admin"));
        Assert.False(login.Allowed);
        Assert.Equal("access to admin@web-1 is not allowed by any of bob's roles (access)", login.Reason);
        Assert.False(Decide(Bob(UserKind.Human, ProdOnlyStrict), Trusted(), "optional", Node("dev")).Allowed);
        Assert.False(Decide(Bob(UserKind.Human, Preset(PresetRoles.Auditor)), Trusted(), "optional").Allowed);
    }

    public static TheoryData<LockTargetKind, string> LockTargets => new()
    {
        { LockTargetKind.User, BobId },
        { LockTargetKind.Device, "dev-1" },
        { LockTargetKind.Role, "access" },
    };

    [Theory]
    [MemberData(nameof(LockTargets))]
    public void A_lock_on_the_user_the_device_or_a_role_denies_whatever_the_roles_allow(LockTargetKind kind, string target)
    {
        var theLock = new AccessLock("lock-1", kind, target, "thing", "lost laptop", Now.AddHours(-1), null, "admin");
        var decision = Decide(Bob(), Trusted(), "optional", null, theLock);
        Assert.False(decision.Allowed);
        Assert.Equal($"lock targeting {theLock.KindText} thing is in force: lost laptop", decision.Reason);
        Assert.Equal([theLock], decision.Locks);
    }

    [Fact]
    public void An_expired_lock_or_one_on_someone_else_does_not_deny()
    {
        var expired = new AccessLock("lock-1", LockTargetKind.User, BobId, "bob", "", Now.AddHours(-2), Now.AddMinutes(-1), "admin");
        var other = new AccessLock("lock-2", LockTargetKind.Device, "dev-2", "C02OTHER", "", Now.AddHours(-2), null, "admin");
        Assert.True(Decide(Bob(), Trusted(), "optional", null, expired, other).Allowed);
    }

    public static TheoryData<DeviceEvidence, string> UntrustedDevices => new()
    {
        { new DeviceEvidence("dev-1", "C02XYZ", "cred-1", null), "device C02XYZ no longer exists" },
        { new DeviceEvidence("dev-1", "C02XYZ", "cred-1", new LiveDevice(false, "", [])), "device C02XYZ is no longer enrolled; enroll it again and log in again" },
        { new DeviceEvidence("dev-1", "C02XYZ", "cred-1", new LiveDevice(true, "cred-2", [BobId])), "device C02XYZ was enrolled again since this login; log in again" },
        { new DeviceEvidence("dev-1", "C02XYZ", "cred-1", new LiveDevice(true, "cred-1", ["someone-else"])), "you may no longer use device C02XYZ" },
    };

    [Theory]
    [MemberData(nameof(UntrustedDevices))]
    public void A_certificate_whose_device_changed_since_login_is_not_a_trusted_device(DeviceEvidence device, string why)
    {
        var decision = Decide(Bob(UserKind.Human, Preset(PresetRoles.RequireTrustedDevice)), device, "optional");
        Assert.False(decision.Allowed);
        Assert.False(decision.TrustedDevice);
        Assert.Equal($"access to root@web-1 requires a trusted device: {why}", decision.Reason);
        // where no device is required, the same certificate still gets in
        Assert.True(Decide(Bob(), device, "optional").Allowed);
    }
}
