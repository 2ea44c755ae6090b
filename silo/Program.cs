using DeviceTrust.Core.Errors;
using DeviceTrust.Silo.Database;
using DeviceTrust.Silo.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

// `dotnet run --project silo` runs a headless silo; `dotnet run --project silo -- db init` applies our SQL and exits.
var isDbInit = args is ["db", "init", ..];
// A web host so that a silo can serve /metrics and probes on DeviceTrust:Cluster:MetricsListen; without it, no port.
var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
{
    Args = isDbInit ? args[2..] : args,
    ContentRootPath = AppContext.BaseDirectory,
});
builder.Logging.AddFilter("Polly", LogLevel.Warning);
try
{
    var options = DeviceTrustHostOptions.From(builder.Configuration);
    if (isDbInit)
    {
        var applied = await DatabaseSchema.ApplyAsync(options);
        Console.WriteLine(applied.Count == 0
            ? $"The {options.Storage.Provider} database is current."
            : $"Applied to the {options.Storage.Provider} database: {string.Join(", ", applied)}");
        return 0;
    }
    if (options.Storage.IsSqlite)
    {
        await DatabaseSchema.ApplyAsync(options);
    }
    else
    {
        await DatabaseSchema.EnsureCurrentAsync(options);
    }
    var masterKey = MasterKeyLoader.Load(options);
    builder.UseOrleans(silo => silo.AddDeviceTrustSilo(options, masterKey));
    var metrics = options.Cluster.MetricsEndPoint;
    SiloHttp.Configure(builder, metrics);
    builder.AddDeviceTrustTelemetry("devicetrust-silo", metrics: m => SiloHttp.AddMetrics(m, metrics));
    var host = builder.Build();
    SiloHttp.Map(host, metrics);
    host.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStarted.Register(() =>
        Console.WriteLine($"DeviceTrust silo started ({options.Storage.Provider}, cluster {options.Cluster.ClusterId}, {options.Cluster.Membership} membership, silo port {options.Cluster.SiloPort}, client port {options.Cluster.ClientPort}"
                          + (metrics is null ? ")" : $", metrics and probes on http://{metrics}/)")));
    await host.RunAsync();
    return 0;
}
catch (DeviceTrustException e)
{
    Console.Error.WriteLine($"ERROR: {e.Message}");
    return 1;
}
