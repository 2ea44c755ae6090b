using k8s;
using k8s.Models;

namespace DeviceTrust.EndToEnd.Tests.Kubernetes;

/// <summary>
/// What DeviceTrust's manifests must be, beyond valid: in their namespace, images with a tag that is not latest,
/// resources, probes on declared ports, non-root and read-only with no capabilities, selectors that select what they
/// name, Secrets and ConfigMaps that exist (or, in production, are the documented ones the operator provides), and a
/// NetworkPolicy that lets only gateways reach silos and only silos and gateways reach PostgreSQL.
/// </summary>
public static class ManifestInvariants
{
    public const string Namespace = "devicetrust";

    /// <summary>The Secret the production overlay expects the operator to create, and its keys (docs/operations.md).</summary>
    public static readonly IReadOnlyDictionary<string, string[]> ProvidedSecrets = new Dictionary<string, string[]>
    {
        ["devicetrust-secrets"] = ["master-key", "storage-connection-string"],
    };

    private sealed record Workload(string Kind, string Name, IDictionary<string, string> Labels, V1PodSpec Pod);

    public static List<string> Check(IReadOnlyList<IKubernetesObject<V1ObjectMeta>> objects, bool secretsProvided)
    {
        var errors = new List<string>();
        string Name(IKubernetesObject<V1ObjectMeta> o) => $"{o.Kind} {o.Metadata.Name}";

        if (!objects.OfType<V1Namespace>().Any(n => n.Metadata.Name == Namespace))
        {
            errors.Add($"no Namespace {Namespace}");
        }
        foreach (var o in objects.Where(o => o is not V1Namespace && o.Metadata.NamespaceProperty != Namespace))
        {
            errors.Add($"{Name(o)}: namespace {o.Metadata.NamespaceProperty ?? "(none)"}, not {Namespace}");
        }
        if (objects.Any(o => o is V1Role or V1ClusterRole or V1RoleBinding or V1ClusterRoleBinding))
        {
            errors.Add("a Role or binding: DeviceTrust does not call the Kubernetes API and needs none");
        }

        var workloads = objects.Select(o => o switch
        {
            V1Deployment d => new Workload("Deployment", d.Metadata.Name, d.Spec.Template.Metadata?.Labels ?? new Dictionary<string, string>(), d.Spec.Template.Spec),
            V1StatefulSet s => new Workload("StatefulSet", s.Metadata.Name, s.Spec.Template.Metadata?.Labels ?? new Dictionary<string, string>(), s.Spec.Template.Spec),
            V1Job j => new Workload("Job", j.Metadata.Name, j.Spec.Template.Metadata?.Labels ?? new Dictionary<string, string>(), j.Spec.Template.Spec),
            _ => null,
        }).OfType<Workload>().ToList();
        var secrets = objects.OfType<V1Secret>().ToDictionary(s => s.Metadata.Name, s => (s.Data?.Keys ?? []).Concat(s.StringData?.Keys ?? []).ToHashSet());
        if (secretsProvided)
        {
            foreach (var secret in secrets.Keys)
            {
                errors.Add($"Secret {secret}: the production overlay carries no secret; the operator provides them");
            }
            foreach (var (name, keys) in ProvidedSecrets)
            {
                secrets[name] = keys.ToHashSet();
            }
        }
        var configMaps = objects.OfType<V1ConfigMap>().ToDictionary(c => c.Metadata.Name, c => c.Data ?? new Dictionary<string, string>());
        var accounts = objects.OfType<V1ServiceAccount>().Select(a => a.Metadata.Name).ToHashSet();
        var shutdown = configMaps.Values.Select(d => Get(d, "DeviceTrust__Cluster__ShutdownTimeout")).OfType<string>().Select(TimeSpan.Parse).DefaultIfEmpty(TimeSpan.FromSeconds(30)).Max();

        foreach (var deployment in objects.OfType<V1Deployment>())
        {
            if (!Selects(deployment.Spec.Selector, deployment.Spec.Template.Metadata?.Labels))
            {
                errors.Add($"{Name(deployment)}: its selector does not match its pod labels");
            }
        }
        foreach (var set in objects.OfType<V1StatefulSet>())
        {
            if (!Selects(set.Spec.Selector, set.Spec.Template.Metadata?.Labels))
            {
                errors.Add($"{Name(set)}: its selector does not match its pod labels");
            }
            if (!objects.OfType<V1Service>().Any(s => s.Metadata.Name == set.Spec.ServiceName))
            {
                errors.Add($"{Name(set)}: serviceName {set.Spec.ServiceName} is not a Service here");
            }
        }
        foreach (var w in workloads)
        {
            var where = $"{w.Kind} {w.Name}";
            var pod = w.Pod;
            if (pod.AutomountServiceAccountToken != false)
            {
                errors.Add($"{where}: automountServiceAccountToken is not false");
            }
            if (pod.ServiceAccountName is { } account && !accounts.Contains(account))
            {
                errors.Add($"{where}: ServiceAccount {account} does not exist");
            }
            if (pod.SecurityContext?.RunAsNonRoot != true || pod.SecurityContext.SeccompProfile?.Type != "RuntimeDefault")
            {
                errors.Add($"{where}: the pod must run as non-root with the RuntimeDefault seccomp profile");
            }
            if (w.Kind == "Deployment" && (pod.TerminationGracePeriodSeconds ?? 30) < shutdown.TotalSeconds + 5)
            {
                errors.Add($"{where}: terminationGracePeriodSeconds {pod.TerminationGracePeriodSeconds ?? 30} does not cover the shutdown timeout {shutdown.TotalSeconds:0} s");
            }
            var volumes = (pod.Volumes ?? []).Select(v => v.Name).ToHashSet();
            foreach (var (container, init) in pod.Containers.Select(c => (c, false)).Concat((pod.InitContainers ?? []).Select(c => (c, true))))
            {
                var at = $"{where} container {container.Name}";
                var image = container.Image ?? "";
                var tag = image.Contains('@', StringComparison.Ordinal) ? "digest" : image.LastIndexOf(':') > image.LastIndexOf('/') ? image[(image.LastIndexOf(':') + 1)..] : "";
                if (tag.Length == 0 || tag == "latest")
                {
                    errors.Add($"{at}: image {image} has no tag, or latest");
                }
                var requests = container.Resources?.Requests;
                if (requests is null || !requests.ContainsKey("cpu") || !requests.ContainsKey("memory") || container.Resources?.Limits?.ContainsKey("memory") != true)
                {
                    errors.Add($"{at}: needs cpu and memory requests and a memory limit");
                }
                var security = container.SecurityContext;
                if (security?.AllowPrivilegeEscalation != false || security.ReadOnlyRootFilesystem != true
                    || security.Capabilities?.Drop?.Contains("ALL") != true || security.Capabilities.Add is { Count: > 0 } || security.Privileged == true)
                {
                    errors.Add($"{at}: needs allowPrivilegeEscalation false, a read-only root filesystem and all capabilities dropped");
                }
                var ports = (container.Ports ?? []).ToList();
                if (!init)
                {
                    if (container.LivenessProbe is null || container.ReadinessProbe is null || container.StartupProbe is null)
                    {
                        errors.Add($"{at}: needs liveness, readiness and startup probes");
                    }
                    foreach (var probe in new[] { container.LivenessProbe, container.ReadinessProbe, container.StartupProbe }.OfType<V1Probe>())
                    {
                        var port = probe.HttpGet?.Port ?? probe.TcpSocket?.Port;
                        if (port is { } p && !HasPort(ports, p))
                        {
                            errors.Add($"{at}: a probe names port {p.Value}, which the container does not declare");
                        }
                    }
                }
                foreach (var mount in container.VolumeMounts ?? [])
                {
                    if (!volumes.Contains(mount.Name) && !(w.Kind == "StatefulSet" && objects.OfType<V1StatefulSet>().Single(s => s.Metadata.Name == w.Name)
                            .Spec.VolumeClaimTemplates?.Any(t => t.Metadata.Name == mount.Name) == true))
                    {
                        errors.Add($"{at}: mounts volume {mount.Name}, which the pod does not have");
                    }
                }
                foreach (var env in container.Env ?? [])
                {
                    // An optional key (the previous master key, set only while rotating) may be absent.
                    if (env.ValueFrom?.SecretKeyRef is { Optional: not true } secretRef && !(secrets.TryGetValue(secretRef.Name, out var keys) && keys.Contains(secretRef.Key)))
                    {
                        errors.Add($"{at}: env {env.Name} reads key {secretRef.Key} of Secret {secretRef.Name}, which is not there");
                    }
                    if (env.ValueFrom?.ConfigMapKeyRef is { } mapRef && !(configMaps.TryGetValue(mapRef.Name, out var data) && data.ContainsKey(mapRef.Key)))
                    {
                        errors.Add($"{at}: env {env.Name} reads key {mapRef.Key} of ConfigMap {mapRef.Name}, which is not there");
                    }
                }
                foreach (var source in container.EnvFrom ?? [])
                {
                    if (source.ConfigMapRef is { } map && !configMaps.ContainsKey(map.Name))
                    {
                        errors.Add($"{at}: envFrom ConfigMap {map.Name} does not exist");
                    }
                    if (source.SecretRef is { } secret && !secrets.ContainsKey(secret.Name))
                    {
                        errors.Add($"{at}: envFrom Secret {secret.Name} does not exist");
                    }
                }
            }
        }

        List<Workload> Selected(IDictionary<string, string>? selector) =>
            workloads.Where(w => selector is { Count: > 0 } && selector.All(l => w.Labels.TryGetValue(l.Key, out var v) && v == l.Value)).ToList();

        foreach (var service in objects.OfType<V1Service>())
        {
            var selected = Selected(service.Spec.Selector);
            if (selected.Count == 0)
            {
                errors.Add($"{Name(service)}: its selector selects no pods");
            }
            foreach (var port in service.Spec.Ports)
            {
                if (!selected.All(w => w.Pod.Containers.Any(c => HasPort(c.Ports ?? [], port.TargetPort ?? (IntOrString)port.Port))))
                {
                    errors.Add($"{Name(service)}: port {port.Name} targets {port.TargetPort?.Value ?? port.Port.ToString(System.Globalization.CultureInfo.InvariantCulture)}, which a selected pod does not declare");
                }
            }
        }
        foreach (var budget in objects.OfType<V1PodDisruptionBudget>())
        {
            if (Selected(budget.Spec.Selector?.MatchLabels).Count == 0)
            {
                errors.Add($"{Name(budget)}: its selector selects no pods");
            }
        }
        foreach (var scaler in objects.OfType<V2HorizontalPodAutoscaler>())
        {
            var target = scaler.Spec.ScaleTargetRef;
            if (!workloads.Any(w => w.Kind == target.Kind && w.Name == target.Name))
            {
                errors.Add($"{Name(scaler)}: scales {target.Kind} {target.Name}, which is not here");
            }
        }
        foreach (var policy in objects.OfType<V1NetworkPolicy>())
        {
            var selected = policy.Spec.PodSelector.MatchLabels is { Count: > 0 } labels ? Selected(labels) : workloads;
            if (selected.Count == 0)
            {
                errors.Add($"{Name(policy)}: selects no pods");
            }
            foreach (var rule in policy.Spec.Ingress ?? [])
            {
                foreach (var peer in rule.FromProperty ?? [])
                {
                    if (peer.PodSelector is { MatchLabels.Count: > 0 } from && peer.NamespaceSelector is null && Selected(from.MatchLabels).Count == 0)
                    {
                        errors.Add($"{Name(policy)}: allows traffic from pods that do not exist ({string.Join(",", from.MatchLabels.Select(l => $"{l.Key}={l.Value}"))})");
                    }
                }
                foreach (var port in rule.Ports ?? [])
                {
                    if (port.Port is { } p && !selected.All(w => w.Pod.Containers.Any(c => HasPort(c.Ports ?? [], p))))
                    {
                        errors.Add($"{Name(policy)}: allows port {p.Value}, which a selected pod does not declare");
                    }
                }
            }
        }
        return errors;
    }

    /// <summary>Which components may reach which, by the rendered NetworkPolicies (ingress): "gateway→silo:orleans-client", ….</summary>
    public static HashSet<string> AllowedPaths(IReadOnlyList<IKubernetesObject<V1ObjectMeta>> objects)
    {
        const string Component = "app.kubernetes.io/component";
        var paths = new HashSet<string>(StringComparer.Ordinal);
        foreach (var policy in objects.OfType<V1NetworkPolicy>())
        {
            var to = Get(policy.Spec.PodSelector.MatchLabels, Component) ?? "*";
            foreach (var rule in policy.Spec.Ingress ?? [])
            {
                var froms = rule.FromProperty is { Count: > 0 } peers
                    ? peers.Select(p => Get(p.PodSelector?.MatchLabels, Component)
                                        ?? (p.NamespaceSelector?.MatchLabels is { } ns ? "namespace:" + string.Join(",", ns.Values) : "?"))
                    : new[] { "anywhere" };
                foreach (var from in froms)
                {
                    foreach (var port in rule.Ports is { Count: > 0 } ports ? ports.Select(p => p.Port?.Value ?? "*") : new[] { "*" })
                    {
                        paths.Add($"{from}→{to}:{port}");
                    }
                }
            }
        }
        return paths;
    }

    private static string? Get(IDictionary<string, string>? map, string key) => map is not null && map.TryGetValue(key, out var value) ? value : null;

    private static bool Selects(V1LabelSelector? selector, IDictionary<string, string>? labels) =>
        selector?.MatchLabels is { Count: > 0 } match && labels is not null && match.All(l => labels.TryGetValue(l.Key, out var v) && v == l.Value);

    private static bool HasPort(IEnumerable<V1ContainerPort> ports, IntOrString port) =>
        ports.Any(p => p.Name == port.Value || p.ContainerPort.ToString(System.Globalization.CultureInfo.InvariantCulture) == port.Value);
}
