using DeviceTrust.Core.Errors;
using DeviceTrust.Silo.Database;
using DeviceTrust.Silo.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

// `dotnet run --project silo` runs a headless silo; `dotnet run --project silo -- db init` applies our SQL and exits.
var isDbInit = args is ["db", "init", ..];
var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
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
    builder.AddDeviceTrustTelemetry("devicetrust-silo");
    var host = builder.Build();
    host.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStarted.Register(() =>
        Console.WriteLine($"DeviceTrust silo started ({options.Storage.Provider}, cluster {options.Cluster.ClusterId}, {options.Cluster.Membership} membership, silo port {options.Cluster.SiloPort}, client port {options.Cluster.ClientPort})"));
    await host.RunAsync();
    return 0;
}
catch (DeviceTrustException e)
{
    Console.Error.WriteLine($"ERROR: {e.Message}");
    return 1;
}
