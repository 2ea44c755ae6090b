using BenchmarkDotNet.Attributes;
using DeviceTrust.Core.Access;
using DeviceTrust.Core.Roles;
using DeviceTrust.Core.Users;

namespace DeviceTrust.LoadTest.Benchmarks;

/// <summary>
/// The pure access decision (core/Access) as the gateway calls it for an SSH login or an app request: a user with
/// three roles (two presets and one label-matched custom role), a node with labels, the locks the gateway's lock index
/// found for this user (none, or one in force). What the gateway adds per request (snapshot lookups, metrics, the
/// sampled audit) is measured end to end by <c>loadtest access-app</c>.
/// </summary>
[MemoryDiagnoser]
public class AccessDecisionBenchmarks
{
    private static readonly DateTimeOffset Now = DateTimeOffset.UtcNow;
    private static readonly string UserId = Guid.NewGuid().ToString();

    private readonly AccessResource _node = new(ResourceKind.Ssh, "web-1",
        new Dictionary<string, string> { ["env"] = "prod", ["team"] = "web", ["region"] = "eu-west-1" }, "root");

    private readonly AccessResource _app = new(ResourceKind.App, "grafana", new Dictionary<string, string> { ["env"] = "prod" });

    private AccessSubject _human = null!;
    private AccessSubject _strict = null!;
    private DeviceEvidence _trusted = null!;
    private IReadOnlyList<AccessLock> _locked = null!;

    [GlobalSetup]
    public void Setup()
    {
        var custom = RoleYaml.Parse("""
            kind: role
            metadata: {name: web-prod}
            spec:
              allow:
                logins: [deploy, root]
                node_labels: {env: [prod, staging], team: [web]}
                app_labels: {env: [prod]}
            """);
        var roles = PresetRoles.All.Where(r => r.Name is PresetRoles.Access or PresetRoles.Auditor).Append(custom).ToList();
        _human = new AccessSubject(UserId, "bob", UserKind.Human, roles);
        _strict = _human with { Roles = [.. roles, PresetRoles.All.Single(r => r.Name == PresetRoles.RequireTrustedDevice)] };
        var deviceId = Guid.NewGuid().ToString();
        _trusted = new DeviceEvidence(deviceId, "C02XYZ", "cred-1", new LiveDevice(true, "cred-1", [Guid.NewGuid().ToString(), UserId]));
        _locked = [new AccessLock("l1", LockTargetKind.Device, deviceId, "C02XYZ", "reported stolen", Now.AddHours(-1), Now.AddHours(11), "admin")];
    }

    [Benchmark(Baseline = true, Description = "ssh, allowed (mode optional, no device)")]
    public bool SshAllowed() => AccessRules.Decide(_human, null, "optional", [], _node, Now).Allowed;

    [Benchmark(Description = "ssh, allowed (required, trusted device)")]
    public bool SshTrustedDevice() => AccessRules.Decide(_strict, _trusted, "optional", [], _node, Now).Allowed;

    [Benchmark(Description = "ssh, denied (required, no device)")]
    public bool SshNeedsDevice() => AccessRules.Decide(_strict, null, "optional", [], _node, Now).Allowed;

    [Benchmark(Description = "ssh, denied (device locked)")]
    public bool SshLocked() => AccessRules.Decide(_strict, _trusted, "optional", _locked, _node, Now).Allowed;

    [Benchmark(Description = "app, allowed")]
    public bool AppAllowed() => AccessRules.Decide(_human, null, "required", [], _app, Now).Allowed;
}
