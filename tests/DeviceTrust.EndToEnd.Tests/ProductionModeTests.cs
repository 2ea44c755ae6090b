using System.Security.Cryptography;
using DeviceTrust.Testing;

namespace DeviceTrust.EndToEnd.Tests;

/// <summary>The production path: PostgreSQL, the schema applied by `silo db init`, a master key from the environment.</summary>
public sealed class ProductionModeTests
{
    private static async Task<Dictionary<string, string?>> PostgresEnvironmentAsync() => new()
    {
        ["DeviceTrust__Storage__Provider"] = "postgresql",
        ["DeviceTrust__Storage__ConnectionString"] = await (await PostgresServer.SharedAsync()).CreateDatabaseAsync(),
        ["DEVICETRUST_MASTER_KEY"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
    };

    private static Task<ProcessResult> RunAsync(string dll, IReadOnlyDictionary<string, string?> environment, params string[] arguments) =>
        ProcessRunner.RunAsync("dotnet", [dll, .. arguments], environment: environment, timeout: TimeSpan.FromMinutes(1));

    [Fact]
    public async Task A_postgresql_cluster_needs_db_init_then_keeps_its_state_across_restarts()
    {
        using var directory = new TempDirectory("dt-prod");
        await using var gateway = new GatewayProcess(directory["data"], await PostgresEnvironmentAsync());

        (await RunAsync(Binaries.Gateway, gateway.Environment)).FailedWith("run `dotnet run --project silo -- db init`");

        Assert.Contains("Applied to the postgresql database: 0001-grain-state.sql", (await RunAsync(Binaries.Silo, gateway.Environment, "db", "init")).Succeeded().StdOut);
        Assert.Contains("The postgresql database is current.", (await RunAsync(Binaries.Silo, gateway.Environment, "db", "init")).Succeeded().StdOut);

        await gateway.StartAsync();
        Assert.False(File.Exists(directory["data/master.key"]), "a PostgreSQL cluster must not generate its own master key");
        var admin = new Cli(directory["admin"]);
        (await admin.DtshWithInput("admin password 1234\n", "login", "--proxy", gateway.Proxy, "--invite", gateway.AdminInvitation)).Succeeded();
        (await admin.Dtctl("users", "add", "bob", "--roles", "access")).Succeeded();

        await gateway.StopAsync();
        await gateway.StartAsync();
        Assert.Contains("bob", (await admin.Dtctl("users", "ls")).Succeeded().StdOut);
    }

    [Fact]
    public async Task A_client_mode_gateway_needs_a_cluster_in_the_database_and_an_unknown_mode_is_refused()
    {
        using var directory = new TempDirectory("dt-mode");
        var embedded = new GatewayProcess(directory["data"]);
        (await RunAsync(Binaries.Gateway, embedded.Environment, "--mode", "client")).FailedWith(
            "ERROR: --mode client needs a cluster in the database: DeviceTrust:Storage:Provider postgresql (and DeviceTrust:Cluster:Membership database, its default)");
        (await RunAsync(Binaries.Gateway, embedded.Environment, "--mode", "silo")).FailedWith(
            "ERROR: the gateway mode \"silo\" is unknown: use embedded or client (--mode client)");
        var local = new Dictionary<string, string?>(await PostgresEnvironmentAsync()) { ["DeviceTrust__Cluster__Membership"] = "local" };
        (await RunAsync(Binaries.Gateway, new GatewayProcess(directory["pg"], local).Environment, "--mode", "client")).FailedWith(
            "ERROR: --mode client needs a cluster in the database");
        Assert.False(Directory.Exists(directory["data"]), "a refused start must not create the data folder");
    }

    [Fact]
    public async Task A_wrong_master_key_stops_the_start_with_a_clear_error()
    {
        using var directory = new TempDirectory("dt-prod");
        var environment = await PostgresEnvironmentAsync();
        (await RunAsync(Binaries.Silo, environment, "db", "init")).Succeeded();
        await using (var gateway = new GatewayProcess(directory["data"], environment))
        {
            await gateway.StartAsync();
        }
        environment["DEVICETRUST_MASTER_KEY"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        var again = new GatewayProcess(directory["data"], environment);
        var result = await RunAsync(Binaries.Gateway, again.Environment);
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("the master key is not the one it was encrypted with", result.Output);
    }

    [Fact]
    public async Task A_postgresql_cluster_without_a_master_key_does_not_start()
    {
        using var directory = new TempDirectory("dt-prod");
        var environment = await PostgresEnvironmentAsync();
        environment.Remove("DEVICETRUST_MASTER_KEY");
        (await RunAsync(Binaries.Silo, environment, "db", "init")).Succeeded();
        var gateway = new GatewayProcess(directory["data"], environment);
        (await RunAsync(Binaries.Gateway, gateway.Environment)).FailedWith("no master key: set DEVICETRUST_MASTER_KEY");
    }

    [Fact]
    public async Task The_headless_silo_starts_with_the_same_configuration()
    {
        using var directory = new TempDirectory("dt-silo");
        var gateway = new GatewayProcess(directory["data"]);
        var info = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(Binaries.Silo);
        foreach (var (key, value) in gateway.Environment)
        {
            info.Environment[key] = value;
        }
        using var silo = System.Diagnostics.Process.Start(info)!;
        try
        {
            var deadline = DateTime.UtcNow.AddSeconds(60);
            string? line;
            do
            {
                line = await silo.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60));
            }
            while (line is not null && !line.StartsWith("DeviceTrust silo started", StringComparison.Ordinal) && DateTime.UtcNow < deadline);
            Assert.StartsWith("DeviceTrust silo started (sqlite", line);
            Assert.True(File.Exists(directory["data/devicetrust.db"]));
        }
        finally
        {
            silo.Kill(entireProcessTree: true);
        }
    }
}
