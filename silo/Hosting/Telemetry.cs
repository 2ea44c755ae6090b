using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace DeviceTrust.Silo.Hosting;

/// <summary>
/// OpenTelemetry for every DeviceTrust process: Orleans grain-call spans and metrics plus ours; exported over OTLP
/// when the standard <c>OTEL_EXPORTER_OTLP_*</c> variables are set, and not at all otherwise.
/// </summary>
public static class Telemetry
{
    public const string SourceName = "DeviceTrust";

    public static IHostApplicationBuilder AddDeviceTrustTelemetry(this IHostApplicationBuilder builder, string serviceName,
        Action<TracerProviderBuilder>? tracing = null, Action<MeterProviderBuilder>? metrics = null)
    {
        var otel = builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService(serviceName))
            .WithTracing(t =>
            {
                // Grain calls, grain storage and the SQL each runs: one trace from a gateway's RPC to the database.
                t.AddSource(SourceName, "Microsoft.Orleans.Application", "Microsoft.Orleans.Storage", "Npgsql");
                tracing?.Invoke(t);
            })
            .WithMetrics(m =>
            {
                m.AddMeter(SourceName, "Microsoft.Orleans");
                metrics?.Invoke(m);
            });
        if (!string.IsNullOrEmpty(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"])
            || !string.IsNullOrEmpty(builder.Configuration["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"]))
        {
            otel.UseOtlpExporter();
        }
        return builder;
    }
}
