using System.Data.Common;
using DeviceTrust.Core.Errors;
using DeviceTrust.Core.Passwords;
using DeviceTrust.Gateway.Administration;
using DeviceTrust.Gateway.Audit;
using DeviceTrust.Gateway.Authentication;
using DeviceTrust.Gateway.Ceremonies;
using DeviceTrust.Gateway.Hosting;
using DeviceTrust.Gateway.Policy;
using DeviceTrust.Gateway.Proxies;
using DeviceTrust.Gateway.Services;
using DeviceTrust.Gateway.Validation;
using DeviceTrust.Gateway.Web;
using DeviceTrust.Silo.Database;
using DeviceTrust.Silo.Hosting;
using DeviceTrust.Web;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection.Extensions;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

// By default the gateway co-hosts a silo: `dotnet run --project gateway` is a complete single-node cluster.
// `--mode client` makes it a stateless gateway of a cluster of silos (`dotnet run --project silo`).
// Settings files come from beside the binary; relative paths (./data) stay relative to where it was started.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
builder.Configuration.AddCommandLine(args, new Dictionary<string, string> { ["--mode"] = $"{GatewayOptions.Section}:{nameof(GatewayOptions.Mode)}" });
builder.Logging.AddFilter("Polly", LogLevel.Warning);
// The gRPC framework logs every refused call and every unreadable message at Information, with stack traces; our
// interceptor and the audit log record each with its reason, so only its warnings and errors are worth a line.
builder.Logging.AddFilter("Grpc.AspNetCore.Server.ServerCallHandler", LogLevel.Warning);

DeviceTrustHostOptions host;
GatewayOptions gateway;
WebConsoleOptions console;
DeviceTrust.Core.Secrets.MasterKey masterKey;
try
{
    host = DeviceTrustHostOptions.From(builder.Configuration);
    gateway = GatewayOptions.From(builder.Configuration);
    console = (builder.Configuration.GetSection(WebConsoleOptions.Section).Get<WebConsoleOptions>() ?? new WebConsoleOptions()).Validated();
    if (gateway.IsClient && !host.Cluster.IsDatabase)
    {
        throw DeviceTrustException.InvalidArgument(
            "--mode client needs a cluster in the database: DeviceTrust:Storage:Provider postgresql (and DeviceTrust:Cluster:Membership database, its default)");
    }
    if (host.Storage.IsSqlite)
    {
        await DatabaseSchema.ApplyAsync(host);
    }
    else
    {
        await DatabaseSchema.EnsureCurrentAsync(host);
    }
    masterKey = MasterKeyLoader.Load(host);
}
catch (Exception e) when (e is DeviceTrustException or DbException or IOException or UnauthorizedAccessException)
{
    Console.Error.WriteLine($"ERROR: {e.Message}");
    return 1;
}

if (gateway.IsClient)
{
    builder.UseOrleansClient(client => client.AddDeviceTrustClient(host));
    // (a silo sets this itself; a client gateway only needs to drain its calls, within the same bound)
    builder.Services.Configure<HostOptions>(stopping => stopping.ShutdownTimeout = host.Cluster.ShutdownTimeout);
    builder.Services.AddSingleton(masterKey);
    builder.Services.AddSingleton(host);
    builder.Services.TryAddSingleton(TimeProvider.System);
}
else
{
    builder.UseOrleans(silo => silo.AddDeviceTrustSilo(host, masterKey));
}

builder.Services.AddSingleton(gateway);
builder.Services.AddSingleton<ClusterAuthority>();
builder.Services.AddSingleton<AuthorityLoader>();
builder.Services.AddHostedService<AuthorityWatch>();
builder.Services.AddSingleton<ClusterBootstrap>();
builder.Services.AddHostedService(sp => sp.GetRequiredService<ClusterBootstrap>());
builder.Services.AddHostedService<GatewayHeartbeat>();
builder.Services.AddSingleton(PasswordHasher.Default);
builder.Services.AddSingleton<PasswordWork>();
builder.Services.AddSingleton<PasswordLogin>();
builder.Services.AddSingleton<RateLimits>();
builder.Services.AddSingleton<SampledAudit>();
builder.Services.AddHostedService(sp => sp.GetRequiredService<SampledAudit>());
builder.Services.AddSingleton<ConnectionLimit>();
builder.Services.AddSingleton<ProxyProtocol>();
builder.Services.AddDeviceTrustReadModels(host, host.Cluster.ServiceId);
builder.Services.AddSingleton<GatewayMetrics>();
builder.Services.AddSingleton<AuditRecorder>();
builder.Services.AddSingleton<EnrollmentCeremony>();
builder.Services.AddSingleton<AuthenticationCeremony>();
builder.Services.AddSingleton<IdentityCache>();
builder.Services.AddSingleton<ClientCertificateValidator>();
builder.Services.AddSingleton<CertificateUsers>();
builder.Services.AddSingleton<PresentedCertificates>();
builder.Services.AddSingleton<DeviceStates>();
builder.Services.AddSingleton<AccessChecker>();
builder.Services.AddSingleton<DeviceAdministration>();
builder.Services.AddSingleton<InventorySync>();
builder.Services.AddSingleton<LockAdministration>();
builder.Services.AddSingleton<RoleAdministration>();
builder.Services.AddSingleton<CertificateIssuer>();
builder.Services.AddSingleton<ProxyAccessEndpoint>();
builder.Services.AddSingleton<IConsoleHost, GatewayConsoleHost>();
builder.Services.AddDeviceTrustWebConsole(console);
builder.Services.AddGrpc(grpc =>
{
    grpc.Interceptors.Add<GatewayInterceptor>();
    grpc.MaxReceiveMessageSize = GatewayOptions.MaxMessageBytes;
    grpc.EnableDetailedErrors = false;
    // No request compression: the framework checks the size limit before decompressing, so a small gzip message
    // could inflate without bound. Compressed requests are refused (Unimplemented, or InvalidArgument for unary).
    grpc.CompressionProviders.Clear();
});
builder.Services.AddGrpcHealthChecks().AddCheck<ClusterReadyCheck>("cluster");

builder.WebHost.ConfigureKestrel(kestrel =>
{
    // Idle and slow connections cannot pile up: caps in all and per source, timeouts for handshakes, idle
    // connections and headers (README, "Limits").
    var limits = gateway.Connections;
    kestrel.Limits.MaxConcurrentConnections = limits.MaxConnections;
    kestrel.Limits.MaxConcurrentUpgradedConnections = limits.MaxConnections;
    kestrel.Limits.KeepAliveTimeout = limits.KeepAliveTimeout;
    kestrel.Limits.RequestHeadersTimeout = limits.RequestHeadersTimeout;
    kestrel.Limits.Http2.MaxStreamsPerConnection = limits.MaxStreamsPerConnection;
    // Pings find peers that vanished in the middle of a long call.
    kestrel.Limits.Http2.KeepAlivePingDelay = TimeSpan.FromSeconds(30);
    kestrel.Limits.Http2.KeepAlivePingTimeout = TimeSpan.FromSeconds(20);
    if (gateway.MetricsEndPoint is { } metricsEndPoint)
    {
        // Scrapers speak HTTP/1.1 without TLS or a client certificate (FACTS.md: an HTTP/2-only listener answers them 400).
        // Connections here count against the same caps as the TLS port's: its per-address share too, so nobody can
        // take the gateway's connection slots through the port that needs no certificate.
        kestrel.Listen(metricsEndPoint, listen =>
        {
            listen.Protocols = HttpProtocols.Http1;
            listen.Use(kestrel.ApplicationServices.GetRequiredService<ConnectionLimit>().Wrap);
        });
    }
    kestrel.Listen(gateway.ListenEndPoint, listen =>
    {
        // HTTP/2 for gRPC; HTTP/1.1 too so plain probes (curl /healthz) work. ALPN picks per connection.
        listen.Protocols = HttpProtocols.Http1AndHttp2;
        if (kestrel.ApplicationServices.GetRequiredService<ProxyProtocol>() is { Enabled: true } proxyProtocol)
        {
            listen.Use(proxyProtocol.Wrap);
        }
        listen.Use(kestrel.ApplicationServices.GetRequiredService<ConnectionLimit>().Wrap);
        listen.UseHttps(https =>
        {
            https.HandshakeTimeout = limits.HandshakeTimeout;
            var authority = kestrel.ApplicationServices.GetRequiredService<ClusterAuthority>();
            var validator = kestrel.ApplicationServices.GetRequiredService<ClientCertificateValidator>();
            https.ServerCertificateSelector = (_, _) => authority.ServerCertificate;
            // Ask for a certificate but do not require one: login and invitation acceptance come without.
            https.ClientCertificateMode = ClientCertificateMode.AllowCertificate;
            https.ClientCertificateValidation = (certificate, _, _) => validator.Validate(certificate);
        });
    });
});

builder.AddDeviceTrustTelemetry("devicetrust-gateway",
    tracing => tracing.AddAspNetCoreInstrumentation(),
    metrics =>
    {
        metrics.AddAspNetCoreInstrumentation().AddMeter("System.Runtime", "Npgsql");
        if (gateway.MetricsEndPoint is not null)
        {
            metrics.AddPrometheusExporter();
        }
    });

var app = builder.Build();
if (gateway.MetricsEndPoint is { } scrape)
{
    // The metrics port is plain HTTP: it serves /metrics and nothing else, and /metrics is served nowhere else.
    app.Use(async (http, next) =>
    {
        if (http.Connection.LocalPort == scrape.Port != (http.Request.Path == "/metrics"))
        {
            http.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }
        await next(http);
    });
    app.MapPrometheusScrapingEndpoint("/metrics");
}
if (gateway.TrustedProxyNetworks is { Count: > 0 } proxies)
{
    // Only the configured proxies are believed (the framework would trust loopback by default), through as many of
    // them as the request passed: the first address that is not one of them is the client.
    var forwarded = new ForwardedHeadersOptions { ForwardedHeaders = ForwardedHeaders.XForwardedFor, ForwardLimit = null };
    forwarded.KnownProxies.Clear();
    forwarded.KnownIPNetworks.Clear();
    foreach (var network in proxies)
    {
        forwarded.KnownIPNetworks.Add(network);
    }
    app.UseForwardedHeaders(forwarded);
}
app.UseMiddleware<SingleMessageCheck>(GatewayOptions.MaxMessageBytes);
app.MapGrpcService<AuthGrpcService>();
app.MapGrpcService<UserGrpcService>();
app.MapGrpcService<RoleGrpcService>();
app.MapGrpcService<ClusterConfigGrpcService>();
app.MapGrpcService<DeviceTrustGrpcService>();
app.MapGrpcService<AuditGrpcService>();
app.MapGrpcService<LockGrpcService>();
app.MapGrpcService<AccessGrpcService>();
app.MapGrpcService<NodeGrpcService>();
app.MapGrpcHealthChecksService().AllowAnonymous();
app.MapGet("/healthz", () => Results.Text("ok\n")).AllowAnonymous();
app.MapGet(ProxyAccessEndpoint.Path, (HttpContext http, ProxyAccessEndpoint endpoint) => endpoint.HandleAsync(http));
app.MapDeviceTrustWebConsole();
RpcContract.Check(((IEndpointRouteBuilder)app).DataSources);
app.MapGet("/readyz", (ClusterAuthority authority) =>
    authority.IsReady ? Results.Text("ready\n") : Results.Text("starting\n", statusCode: StatusCodes.Status503ServiceUnavailable)).AllowAnonymous();

app.Lifetime.ApplicationStarted.Register(() =>
{
    var authority = app.Services.GetRequiredService<ClusterAuthority>();
    var bootstrap = app.Services.GetRequiredService<ClusterBootstrap>();
    // One write, so whoever reads the output sees the banner and the invitation together.
    Console.Write(
        $"""

         DeviceTrust gateway ({(gateway.IsClient ? $"client of the silos of cluster id {host.Cluster.ClusterId}" : "embedded silo")}) of cluster "{authority.ClusterName}" is listening on https://{gateway.Listen}
         CA pin: {authority.Ca.Pin}
         Data: {(host.Storage.IsSqlite ? host.DataDirFullPath + " (SQLite)" : "PostgreSQL")}

         {(bootstrap.Notice is { } notice ? notice + Environment.NewLine + Environment.NewLine : "")}
         """);
});

await app.RunAsync();
return 0;

/// <summary>Visible to WebApplicationFactory-based tests.</summary>
public partial class Program;
