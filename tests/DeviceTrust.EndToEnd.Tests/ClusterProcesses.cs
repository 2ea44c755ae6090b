using System.Globalization;
using System.Security.Cryptography;
using DeviceTrust.Client.Connection;
using DeviceTrust.Client.Profiles;
using DeviceTrust.Testing;
using Grpc.Net.Client;
using Npgsql;

namespace DeviceTrust.EndToEnd.Tests;

/// <summary>
/// A real multi-process cluster: one PostgreSQL database, headless silo processes (<c>dotnet silo.dll</c>) and
/// client-mode gateways (<c>gateway.dll --mode client</c>), each on ports of its own, all with the same configuration.
/// </summary>
public sealed class ClusterProcesses : IAsyncDisposable
{
    private readonly TempDirectory _directory = new("dt-cluster");
    private readonly Dictionary<string, string?> _environment;
    private readonly List<BackgroundProcess?> _silos = [];

    private ClusterProcesses(string connectionString)
    {
        ConnectionString = connectionString;
        _environment = new Dictionary<string, string?>
        {
            ["DeviceTrust__Storage__Provider"] = "postgresql",
            ["DeviceTrust__Storage__ConnectionString"] = connectionString,
            ["DEVICETRUST_MASTER_KEY"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
            ["DeviceTrust__Cluster__ClusterId"] = "test-cluster",
            ["Logging__LogLevel__Default"] = "Warning",
        };
        foreach (var (key, value) in GatewayProcess.HighLimits)
        {
            _environment[key] = value;
        }
    }

    public string ConnectionString { get; }

    public List<GatewayProcess> Gateways { get; } = [];

    public Cli Admin => new(_directory["admin"]);

    public IReadOnlyList<BackgroundProcess?> Silos => _silos;

    /// <summary>Applies the schema, then starts the silos and the gateways (the gateways once a silo answers).</summary>
    public static async Task<ClusterProcesses> StartAsync(int silos, int gateways)
    {
        var cluster = new ClusterProcesses(await (await PostgresServer.SharedAsync()).CreateDatabaseAsync());
        (await ProcessRunner.RunAsync("dotnet", [Binaries.Silo, "db", "init"], environment: cluster._environment, timeout: TimeSpan.FromMinutes(1))).Succeeded();
        await Task.WhenAll(Enumerable.Range(0, silos).Select(_ => cluster.StartSiloAsync()));
        for (var i = 0; i < gateways; i++)
        {
            var gateway = new GatewayProcess(cluster._directory[$"gateway{i}"], cluster._environment, ["--mode", "client"]);
            await gateway.StartAsync();
            cluster.Gateways.Add(gateway);
        }
        return cluster;
    }

    /// <summary>Starts one more silo on fresh ports; returns its index.</summary>
    public async Task<int> StartSiloAsync()
    {
        var environment = new Dictionary<string, string?>(_environment)
        {
            ["DeviceTrust__Cluster__SiloPort"] = FreePort.Next().ToString(CultureInfo.InvariantCulture),
            ["DeviceTrust__Cluster__ClientPort"] = FreePort.Next().ToString(CultureInfo.InvariantCulture),
            ["DeviceTrust__Cluster__MetricsListen"] = $"127.0.0.1:{FreePort.Next().ToString(CultureInfo.InvariantCulture)}",
        };
        var silo = BackgroundProcess.Start("dotnet", [Binaries.Silo], environment);
        int index;
        lock (_silos)
        {
            index = _silos.Count;
            _silos.Add(silo);
        }
        await silo.WaitUntilAsync(() => Task.FromResult(silo.Output.Contains("DeviceTrust silo started", StringComparison.Ordinal)),
            "silo start", TimeSpan.FromSeconds(90));
        return index;
    }

    /// <summary>A silo's metrics and probe address (http://127.0.0.1:port/), as its start line says.</summary>
    public Uri SiloHttp(int index) =>
        new(System.Text.RegularExpressions.Regex.Match(_silos[index]!.Output, @"metrics and probes on (http://[0-9.:]+/)").Groups[1].Value);

    /// <summary>The silo-to-silo port of a silo, as its start line says.</summary>
    public Task<int> SiloPortAsync(int index)
    {
        var match = System.Text.RegularExpressions.Regex.Match(_silos[index]!.Output, @"silo port (\d+)");
        return Task.FromResult(int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture));
    }

    /// <summary>kill -9 of one silo.</summary>
    public async Task KillSiloAsync(int index)
    {
        await _silos[index]!.KillAsync();
        await _silos[index]!.DisposeAsync();
        _silos[index] = null;
    }

    /// <summary>SIGTERM to one silo, as a rollout does; its exit code, or null if it had not exited within <paramref name="grace"/>.</summary>
    public async Task<int?> StopSiloAsync(int index, TimeSpan grace)
    {
        var code = await _silos[index]!.TerminateAsync(grace);
        await _silos[index]!.DisposeAsync();
        _silos[index] = null;
        return code;
    }

    /// <summary>Stops every node the way an operator would (SIGTERM): gateways first, then silos.</summary>
    public async Task StopAllAsync()
    {
        foreach (var gateway in Gateways)
        {
            await gateway.StopAsync();
        }
        for (var i = 0; i < _silos.Count; i++)
        {
            if (_silos[i] is { } silo)
            {
                await silo.DisposeAsync();
                _silos[i] = null;
            }
        }
    }

    /// <summary>Starts the cluster again over the same database: new silos, the same gateways on their ports.</summary>
    public async Task StartAgainAsync(int silos)
    {
        await Task.WhenAll(Enumerable.Range(0, silos).Select(_ => StartSiloAsync()));
        foreach (var gateway in Gateways)
        {
            await gateway.StartAsync();
        }
    }

    /// <summary>The bootstrap admin, logged in with every gateway in the profile (dtsh login --proxy a,b).</summary>
    public async Task<Profile> LoginAdminAsync()
    {
        var inviting = Gateways.First(g => File.Exists(Path.Combine(g.DataDirectory, "admin-invite")));
        var proxies = string.Join(",", Gateways.Select(g => g.Proxy));
        (await Admin.DtshWithInput("admin password 1234\n", "login", "--proxy", proxies, "--invite", inviting.AdminInvitation)).Succeeded();
        var profile = new ProfileStore(Admin.Home).Load()!;
        Assert.Equal(proxies, profile.Proxy);
        return profile;
    }

    /// <summary>A channel to one gateway with the admin's certificate.</summary>
    public static GrpcChannel Channel(Profile profile, GatewayProcess gateway) =>
        GatewayChannel.Create(gateway.Proxy, profile.Ca, profile.CertificateWithKey());

    public async Task<long> CountAsync(string sql, params (string Name, object Value)[] parameters)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }
        return Convert.ToInt64(await command.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var gateway in Gateways)
        {
            await gateway.DisposeAsync();
        }
        foreach (var silo in _silos)
        {
            if (silo is not null)
            {
                await silo.DisposeAsync();
            }
        }
        _directory.Dispose();
    }
}

/// <summary>
/// Five server processes under load take both cores: tests in this collection run alone, after the others, so the
/// suites that measure delays of a second (rate limits, login delays) do not share the machine with them.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ClusterProcessesCollection
{
    public const string Name = "cluster processes";
}
