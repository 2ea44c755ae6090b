using System.Diagnostics;
using System.Text.RegularExpressions;

namespace DeviceTrust.EndToEnd.Tests.Kubernetes;

/// <summary>
/// Both overlays rendered by the real kubectl (kustomize, offline), checked against the typed Kubernetes models and
/// DeviceTrust's own rules (K8S-NOTES.md: no cluster here, and kubectl validates nothing offline).
/// </summary>
public sealed class ManifestTests
{
    private static string Render(string overlay)
    {
        var start = new ProcessStartInfo(File.Exists("/usr/bin/kubectl") ? "/usr/bin/kubectl" : "kubectl")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.ArgumentList.Add("kustomize");
        start.ArgumentList.Add(Path.Combine(Binaries.RepositoryRoot, "k8s", "overlays", overlay));
        using var kubectl = Process.Start(start) ?? throw new InvalidOperationException("kubectl did not start");
        var output = kubectl.StandardOutput.ReadToEndAsync();
        var error = kubectl.StandardError.ReadToEndAsync();
        Assert.True(kubectl.WaitForExit(TimeSpan.FromSeconds(60)), "kubectl kustomize did not finish");
        Assert.True(kubectl.ExitCode == 0, $"kubectl kustomize {overlay}: {error.Result}");
        return output.Result;
    }

    private static readonly string[] Production =
    [
        "anywhere→gateway:https", "namespace:monitoring→gateway:metrics", "namespace:monitoring→silo:metrics",
        "gateway→silo:orleans-client", "silo→silo:silo", "silo→silo:orleans-client",
    ];

    [Theory]
    [InlineData("production")]
    [InlineData("dev")]
    public void An_overlay_renders_to_valid_objects_that_keep_the_rules(string overlay)
    {
        var errors = ManifestSchema.Check(Render(overlay), out var objects);
        Assert.True(errors.Count == 0, string.Join("\n", errors));
        errors = ManifestInvariants.Check(objects, secretsProvided: overlay == "production");
        Assert.True(errors.Count == 0, string.Join("\n", errors));

        // Exactly these may reach each other: only gateways reach silos, and only silos and gateways PostgreSQL.
        string[] expected = overlay == "dev" ? [.. Production, "silo→postgres:postgres", "gateway→postgres:postgres"] : Production;
        Assert.Equal(expected.Order(StringComparer.Ordinal), ManifestInvariants.AllowedPaths(objects).Order(StringComparer.Ordinal));
        Assert.Contains(objects, o => o.Kind == "NetworkPolicy" && o.Metadata.Name == "devicetrust-default-deny");
    }

    [Theory]
    [InlineData("containerPort: 3025", "containerPortt: 3025", "unknown field 'containerPortt' in V1ContainerPort; did you mean 'containerPort'?")]
    [InlineData("runAsUser: 10001", "runAsUser: \"10001\"", "spec.template.spec.securityContext.runAsUser: expected an unquoted number")]
    [InlineData("DeviceTrust__Cluster__SiloPort: \"11111\"", "DeviceTrust__Cluster__SiloPort: 11111", "data.DeviceTrust__Cluster__SiloPort: expected a string, got the plain scalar 11111")]
    [InlineData("image: devicetrust/gateway:2026.12.0", "image: devicetrust/gateway:latest", "container gateway: image devicetrust/gateway:latest has no tag, or latest")]
    [InlineData("image: devicetrust/gateway:2026.12.0", "image: devicetrust/gateway", "container gateway: image devicetrust/gateway has no tag, or latest")]
    [InlineData("targetPort: metrics", "targetPort: metric", "Service devicetrust-gateway: port metrics targets metric, which a selected pod does not declare")]
    [InlineData("readOnlyRootFilesystem: true", "readOnlyRootFilesystem: false", "needs allowPrivilegeEscalation false, a read-only root filesystem and all capabilities dropped")]
    [InlineData("terminationGracePeriodSeconds: 45", "terminationGracePeriodSeconds: 10", "terminationGracePeriodSeconds 10 does not cover the shutdown timeout 30 s")]
    [InlineData("key: master-key", "key: master-kee", "reads key master-kee of Secret devicetrust-secrets")]
    [InlineData("        - containerPort: 3025\n          name: https", "        - containerPort: 3025\n          name: http", "a probe names port https, which the container does not declare")]
    [InlineData("  selector:\n    matchLabels:\n      app.kubernetes.io/component: gateway", "  selector:\n    matchLabels:\n      app.kubernetes.io/component: gateways",
        "Deployment devicetrust-gateway: its selector does not match its pod labels")]
    [InlineData("    port: 5432\n    targetPort: postgres", "    targetPort: postgres", "missing required field 'port' in V1ServicePort")]
    public void A_broken_manifest_is_refused_with_a_precise_reason(string good, string broken, string reason)
    {
        var rendered = Render("dev");
        Assert.Contains(good, rendered, StringComparison.Ordinal);
        var errors = ManifestSchema.Check(ReplaceFirst(rendered, good, broken), out var objects);
        if (errors.Count == 0)
        {
            errors = ManifestInvariants.Check(objects, secretsProvided: false);
        }
        // (each error names its line too; the reasons here leave it out, so they hold when the manifests grow)
        Assert.True(errors.Any(e => Regex.Replace(e, @" \(line \d+:\d+\)", "").Contains(reason, StringComparison.Ordinal)),
            $"want \"{reason}\", got:\n{string.Join("\n", errors)}");
    }

    [Theory]
    [InlineData("gateway", "DeviceTrust.Gateway")]
    [InlineData("silo", "DeviceTrust.Silo")]
    public void An_image_is_built_from_pinned_bases_runs_as_non_root_and_starts_its_project(string component, string assembly)
    {
        var lines = File.ReadAllLines(Path.Combine(Binaries.RepositoryRoot, component, "Dockerfile")).Where(l => !l.StartsWith('#')).ToList();
        var froms = lines.Where(l => l.StartsWith("FROM ", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, froms.Count);
        Assert.All(froms, f => Assert.Matches(@"^FROM \S+:\S+@(\$\{[A-Z_]+_DIGEST\}|sha256:[0-9a-f]{64})( AS \w+)?$", f));
        Assert.Matches(@"^USER [1-9][0-9]{3,}:[1-9][0-9]{3,}$", lines.Single(l => l.StartsWith("USER ", StringComparison.Ordinal)));
        Assert.Equal($"ENTRYPOINT [\"dotnet\", \"{assembly}.dll\"]", lines.Single(l => l.StartsWith("ENTRYPOINT ", StringComparison.Ordinal)));
        Assert.Contains(lines, l => l == $"RUN dotnet publish {component}/{assembly}.csproj -c Release -o /out --nologo -p:UseAppHost=false");
        // the gateway's publish output takes one appsettings.json of the two its project graph has: they are the same
        Assert.Equal(File.ReadAllText(Path.Combine(Binaries.RepositoryRoot, "gateway", "appsettings.json")),
            File.ReadAllText(Path.Combine(Binaries.RepositoryRoot, "silo", "appsettings.json")));
        // the manifests' pods run as the image's user
        Assert.Contains("runAsUser: 10001", Render("production"), StringComparison.Ordinal);
    }

    private static string ReplaceFirst(string text, string what, string with)
    {
        var at = text.IndexOf(what, StringComparison.Ordinal);
        return string.Concat(text.AsSpan(0, at), with, text.AsSpan(at + what.Length));
    }
}
