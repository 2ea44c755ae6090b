using System.CommandLine;
using System.Diagnostics;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using DeviceTrust.Client.Profiles;

namespace DeviceTrust.LoadTest;

/// <summary>
/// <c>access-app</c>: what nginx's <c>auth_request</c> does to the gateway, as fast as the gateway answers:
/// <c>GET /v1/access/app</c> with the proxy's client certificate and a user's URL-escaped certificate in the header,
/// over <c>--connections</c> keep-alive HTTP/1.1 connections (nginx's upstream protocol), one request in flight on
/// each. Every answer must be the expected status; anything else counts as a failure.
/// </summary>
public static class AccessAppScenario
{
    public static Command Create()
    {
        var proxyHome = new Option<string>("--proxy-home") { Required = true, Description = "Profile folder of the proxy's user (a role with access: [read])" };
        var userHome = new Option<string>("--user-home") { Required = true, Description = "Profile folder of the user whose certificate is forwarded" };
        var app = new Option<string>("--app") { DefaultValueFactory = _ => "grafana" };
        var expect = new Option<int>("--expect") { DefaultValueFactory = _ => 200, Description = "The status every answer must have" };
        var connections = new Option<int>("--connections") { DefaultValueFactory = _ => 16 };
        var seconds = new Option<double>("--seconds") { DefaultValueFactory = _ => 20 };
        var path = new Option<string>("--path")
        {
            DefaultValueFactory = _ => "/v1/access/app",
            Description = "Ask another path with the same requests, e.g. /healthz: the machine's ceiling for HTTPS requests through this gateway",
        };
        var command = new Command("access-app", "Measure the proxy access endpoint (nginx auth_request) throughput and latency")
        {
            proxyHome, userHome, app, expect, connections, seconds, path,
        };
        command.SetAction(async (result, cancellationToken) =>
        {
            var proxy = new ProfileStore(result.GetValue(proxyHome)!).Load() ?? throw new InvalidOperationException("no profile in --proxy-home");
            var user = new ProfileStore(result.GetValue(userHome)!).Load() ?? throw new InvalidOperationException("no profile in --user-home");
            var parallel = result.GetValue(connections);
            using var http = Client(proxy, parallel);
            var uri = new Uri($"https://{proxy.Proxy}{result.GetValue(path)}");
            var escaped = Uri.EscapeDataString(user.Certificate.ExportCertificatePem() + "\n");
            var name = result.GetValue(app)!;
            var expected = (HttpStatusCode)result.GetValue(expect);

            async Task<bool> AskAsync()
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, uri) { Version = HttpVersion.Version11, VersionPolicy = HttpVersionPolicy.RequestVersionExact };
                request.Headers.Add("X-DeviceTrust-Client-Cert", escaped);
                request.Headers.Add("X-DeviceTrust-App", name);
                using var response = await http.SendAsync(request, cancellationToken);
                await response.Content.CopyToAsync(Stream.Null, cancellationToken);
                return response.StatusCode == expected;
            }

            // warm up: open every connection, let the gateway's caches fill and its JIT reach its last tier; not measured
            var warming = Stopwatch.StartNew();
            await Task.WhenAll(Enumerable.Range(0, parallel).Select(async _ =>
            {
                while (warming.Elapsed < TimeSpan.FromSeconds(5))
                {
                    if (!await AskAsync())
                    {
                        throw new InvalidOperationException($"the warm-up answer was not {(int)expected}: check the profiles and --expect");
                    }
                }
            }));

            var recorder = new LatencyRecorder();
            var until = Stopwatch.StartNew();
            var duration = TimeSpan.FromSeconds(result.GetValue(seconds));
            await Task.WhenAll(Enumerable.Range(0, parallel).Select(async _ =>
            {
                while (until.Elapsed < duration)
                {
                    var timer = Stopwatch.StartNew();
                    if (await AskAsync())
                    {
                        recorder.Record(timer.Elapsed);
                    }
                    else
                    {
                        recorder.Fail();
                    }
                }
            }));
            Console.WriteLine(recorder.Summary($"GET {uri.AbsolutePath} ({parallel} connections, expect {(int)expected})", until.Elapsed));
            return 0;
        });
        return command;
    }

    private static HttpClient Client(Profile proxy, int connections)
    {
        var policy = new X509ChainPolicy
        {
            TrustMode = X509ChainTrustMode.CustomRootTrust,
            RevocationMode = X509RevocationMode.NoCheck,
            DisableCertificateDownloads = true,
        };
        policy.CustomTrustStore.Add(proxy.Ca);
        var handler = new SocketsHttpHandler { MaxConnectionsPerServer = connections, PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5) };
        handler.SslOptions.CertificateChainPolicy = policy;
        handler.SslOptions.ClientCertificates = [proxy.CertificateWithKey()];
        return new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(10) };
    }
}
