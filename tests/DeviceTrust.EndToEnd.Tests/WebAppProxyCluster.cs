using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using DeviceTrust.Testing;

namespace DeviceTrust.EndToEnd.Tests;

/// <summary>
/// A gateway, and in front of a tiny app a real nginx configured with the README's example (docs/examples/nginx-app.conf,
/// with this machine's ports and paths): auth_request to the gateway's access endpoint, with the proxy's own bot
/// credential and the user certificate nginx verified.
/// </summary>
public sealed class WebAppProxyCluster() : GatewayCluster("dt-e2e-web", GatewayProcess.HighLimits)
{
    public const string App = "grafana";

    public NginxServer Nginx { get; private set; } = null!;
    public int Port { get; private set; }
    public string SiteCa => Nginx["site.crt"];

    public static string ExampleConfig => File.ReadAllText(System.IO.Path.Combine(Binaries.RepositoryRoot, "docs", "examples", "nginx-app.conf"));

    protected override async Task AfterStartAsync()
    {
        Nginx = new NginxServer();
        // the proxy's identity: a bot whose only role lets it read access decisions
        var role = Path("proxy-role.yaml");
        await File.WriteAllTextAsync(role, "kind: role\nmetadata: {name: access-proxy}\nspec: {allow: {rules: {access: [read]}}}\n");
        (await Admin.Dtctl("roles", "create", "-f", role)).Succeeded();
        var invite = (await Admin.Dtctl("users", "add", "nginx-proxy", "--kind", "bot", "--roles", "access-proxy")).Succeeded().StdOut
            .Split(' ', '\n').Single(w => w.StartsWith("dtinv1.", StringComparison.Ordinal)).Trim();
        var proxyHome = Path("proxy-home");
        (await new Cli(proxyHome).DtshWithInput("proxy password 1234\n", "login", "--proxy", Gateway.Proxy, "--invite", invite)).Succeeded();

        WriteSiteCertificate();
        File.Copy(System.IO.Path.Combine(Admin.Home, "ca.pem"), Nginx["cluster-ca.pem"]);
        Port = FreePort.Next();
        var appPort = FreePort.Next();
        var site = ExampleConfig
            .Replace("server 127.0.0.1:3025;", $"server {Gateway.Proxy};", StringComparison.Ordinal)
            .Replace("listen 443 ssl;", $"listen 127.0.0.1:{Port} ssl;", StringComparison.Ordinal)
            .Replace("proxy_pass http://127.0.0.1:3000;", $"proxy_pass http://127.0.0.1:{appPort};", StringComparison.Ordinal)
            .Replace("/etc/nginx/devicetrust/proxy-cert.pem", System.IO.Path.Combine(proxyHome, "cert.pem"), StringComparison.Ordinal)
            .Replace("/etc/nginx/devicetrust/proxy-key.pem", System.IO.Path.Combine(proxyHome, "key.pem"), StringComparison.Ordinal)
            .Replace("/etc/nginx/devicetrust/", Nginx.Directory + "/", StringComparison.Ordinal);
        await Nginx.StartAsync(
            $$"""
              {{Nginx.Preamble}}
              http {
              {{Nginx.HttpPreamble}}
              # the app: it answers anyone who reaches it, and says who nginx let through
              server {
                  listen 127.0.0.1:{{appPort}};
                  location / { return 200 "hello $http_x_forwarded_user from the app\n"; }
              }
              {{site}}
              }
              """, Port, appPort);
    }

    private void WriteSiteCertificate()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=grafana.example.com", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(System.Net.IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        File.WriteAllText(Nginx["site.crt"], certificate.ExportCertificatePem() + "\n");
        Core.Secrets.SecureFile.WriteAllText(Nginx["site.key"], key.ExportPkcs8PrivateKeyPem());
    }

    /// <summary>curl to the site, as a user would: the status, the body, and the reason header.</summary>
    public async Task<(int Status, string Body, string Reason)> GetAsync(string? home, params string[] more)
    {
        List<string> arguments = ["-sS", "--cacert", SiteCa, "-D", Nginx["headers-" + Guid.NewGuid().ToString("N")], "-w", "\n%{http_code}"];
        if (home is not null)
        {
            arguments.AddRange(["--cert", System.IO.Path.Combine(home, "cert.pem"), "--key", System.IO.Path.Combine(home, "key.pem")]);
        }
        arguments.AddRange(more);
        arguments.Add($"https://127.0.0.1:{Port}/");
        var result = await ProcessRunner.RunAsync("curl", arguments);
        Assert.True(result.ExitCode == 0, result.ToString());
        var lines = result.StdOut.TrimEnd('\n').Split('\n');
        var headers = File.ReadAllLines(arguments[arguments.IndexOf("-D") + 1]);
        var reason = headers.FirstOrDefault(h => h.StartsWith("X-DeviceTrust-Reason:", StringComparison.OrdinalIgnoreCase))?.Split(':', 2)[1].Trim() ?? "";
        return (int.Parse(lines[^1], System.Globalization.CultureInfo.InvariantCulture), string.Join('\n', lines[..^1]).TrimEnd('\n'), reason);
    }

    public override async Task DisposeAsync()
    {
        await Nginx.DisposeAsync();
        await base.DisposeAsync();
    }
}
