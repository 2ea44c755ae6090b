using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;

namespace DeviceTrust.Silo.Hosting;

/// <summary>
/// A standalone silo's one HTTP port (<see cref="ClusterNodeOptions.MetricsListen"/>): plain HTTP/1.1 serving
/// <c>/metrics</c> for Prometheus, <c>/healthz</c> (the process answers) and <c>/readyz</c> (the silo is active in the
/// cluster's membership), and nothing else. Without the setting the silo opens no HTTP port at all.
/// </summary>
public static class SiloHttp
{
    public static void Configure(WebApplicationBuilder builder, IPEndPoint? endPoint)
    {
        if (endPoint is null)
        {
            builder.Services.AddSingleton<IServer, NoServer>();
            return;
        }
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxConcurrentConnections = 64;
            kestrel.Limits.MaxRequestBodySize = 0;
            kestrel.Listen(endPoint, listen => listen.Protocols = HttpProtocols.Http1);
        });
    }

    public static void AddMetrics(MeterProviderBuilder metrics, IPEndPoint? endPoint)
    {
        metrics.AddMeter("System.Runtime", "Npgsql");
        if (endPoint is not null)
        {
            metrics.AddPrometheusExporter();
        }
    }

    public static void Map(WebApplication app, IPEndPoint? endPoint)
    {
        if (endPoint is null)
        {
            return;
        }
        app.MapPrometheusScrapingEndpoint("/metrics");
        app.MapGet("/healthz", () => Results.Text("ok\n"));
        app.MapGet("/readyz", (IClusterMembershipService membership, ILocalSiloDetails silo) =>
            membership.CurrentSnapshot.GetSiloStatus(silo.SiloAddress) == SiloStatus.Active
                ? Results.Text("ready\n")
                : Results.Text($"not ready: the silo is {membership.CurrentSnapshot.GetSiloStatus(silo.SiloAddress).ToString().ToLowerInvariant()}\n",
                    statusCode: StatusCodes.Status503ServiceUnavailable));
        // Any other path: 404 (no fallback, no static files).
    }

    /// <summary>The web host's server when the silo has no HTTP port: it listens nowhere.</summary>
    private sealed class NoServer : IServer
    {
        public IFeatureCollection Features { get; } = new FeatureCollection();

        public Task StartAsync<TContext>(IHttpApplication<TContext> application, CancellationToken cancellationToken) where TContext : notnull =>
            Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public void Dispose()
        {
        }
    }
}
