using Npgsql;

namespace DeviceTrust.Testing;

/// <summary>
/// A real PostgreSQL for tests. Uses <c>DEVICETRUST_TEST_POSTGRES</c> (an admin connection string) when set;
/// otherwise starts a throwaway server from the machine's initdb/pg_ctl in a temporary folder on a free loopback
/// port (as the postgres user when running as root, since initdb refuses root), and removes it afterwards.
/// Each caller gets a database of its own.
/// </summary>
public sealed class PostgresServer : IAsyncDisposable
{
    private readonly string? _dataDirectory;
    private readonly string? _binDirectory;
    private readonly bool _asPostgresUser;

    private PostgresServer(string adminConnectionString, string? dataDirectory, string? binDirectory, bool asPostgresUser)
    {
        AdminConnectionString = adminConnectionString;
        _dataDirectory = dataDirectory;
        _binDirectory = binDirectory;
        _asPostgresUser = asPostgresUser;
    }

    public string AdminConnectionString { get; }

    private static readonly SemaphoreSlim Gate = new(1, 1);
    private static Task<PostgresServer>? _shared;

    /// <summary>One server per test process, started on first use.</summary>
    public static async Task<PostgresServer> SharedAsync()
    {
        await Gate.WaitAsync();
        try
        {
            if (_shared is null)
            {
                _shared = StartAsync();
                var server = await _shared;
                // xunit has no assembly-wide teardown: stop the server when the test process ends.
                AppDomain.CurrentDomain.ProcessExit += (_, _) => server.DisposeAsync().AsTask().GetAwaiter().GetResult();
            }
        }
        finally
        {
            Gate.Release();
        }
        return await _shared;
    }

    public static async Task<PostgresServer> StartAsync()
    {
        if (Environment.GetEnvironmentVariable("DEVICETRUST_TEST_POSTGRES") is { Length: > 0 } given)
        {
            return new PostgresServer(given, null, null, false);
        }
        var bin = FindBinDirectory();
        var asRoot = Environment.UserName == "root";
        var data = Directory.CreateTempSubdirectory("dt-pg-").FullName;
        var socket = Path.Combine(data, "socket");
        Directory.CreateDirectory(socket);
        if (asRoot)
        {
            await Run("chown", ["-R", "postgres:postgres", data], asPostgres: false);
        }
        await Run(Path.Combine(bin, "initdb"), ["-D", Path.Combine(data, "db"), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"], asRoot);
        // The port is picked by bind-and-release: another process may take it first, so retry on a fresh one.
        for (var attempt = 1; ; attempt++)
        {
            var port = FreePort.Next();
            var started = await TryRun(Path.Combine(bin, "pg_ctl"),
                ["-D", Path.Combine(data, "db"), "-l", Path.Combine(data, "server.log"), "-w", "-t", "60",
                 "-o", $"-p {port} -c listen_addresses=127.0.0.1 -k {socket} -c fsync=off -c max_connections=200", "start"], asRoot);
            if (started.ExitCode == 0)
            {
                var postmaster = File.ReadLines(Path.Combine(data, "db", "postmaster.pid")).First();
                ChildProcessGuard.Watch(int.Parse(postmaster, System.Globalization.CultureInfo.InvariantCulture));
                return new PostgresServer($"Host=127.0.0.1;Port={port};Username=postgres;Database=postgres;Pooling=false", data, bin, asRoot);
            }
            var log = Path.Combine(data, "server.log");
            var collided = File.Exists(log) && File.ReadAllText(log).Contains("could not bind", StringComparison.Ordinal);
            if (!collided || attempt == 5)
            {
                throw new InvalidOperationException($"pg_ctl start failed: {started}\n{(File.Exists(log) ? File.ReadAllText(log) : "")}");
            }
        }
    }

    /// <summary>Creates a fresh database and returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync()
    {
        var name = "dt_" + Guid.NewGuid().ToString("N");
        await using (var connection = new NpgsqlConnection(AdminConnectionString))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
            await command.ExecuteNonQueryAsync();
        }
        return new NpgsqlConnectionStringBuilder(AdminConnectionString) { Database = name, Pooling = true }.ConnectionString;
    }

    public async ValueTask DisposeAsync()
    {
        if (_dataDirectory is null || !Directory.Exists(_dataDirectory))
        {
            return;
        }
        try
        {
            await Run(Path.Combine(_binDirectory!, "pg_ctl"), ["-D", Path.Combine(_dataDirectory, "db"), "-m", "immediate", "-w", "stop"], _asPostgresUser);
        }
        finally
        {
            Directory.Delete(_dataDirectory, recursive: true);
        }
    }

    private static string FindBinDirectory()
    {
        var candidates = Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql").OrderByDescending(d => d, StringComparer.Ordinal).Select(d => Path.Combine(d, "bin"))
            : [];
        return candidates.FirstOrDefault(d => File.Exists(Path.Combine(d, "initdb")))
               ?? throw new InvalidOperationException(
                   "PostgreSQL server binaries (initdb, pg_ctl) were not found under /usr/lib/postgresql: install the postgresql package " +
                   "or set DEVICETRUST_TEST_POSTGRES to an admin connection string");
    }

    private static Task<ProcessResult> TryRun(string file, string[] arguments, bool asPostgres) =>
        asPostgres
            ? ProcessRunner.RunAsync("runuser", ["-u", "postgres", "--", file, .. arguments], timeout: TimeSpan.FromMinutes(2), workingDirectory: "/tmp")
            : ProcessRunner.RunAsync(file, arguments, timeout: TimeSpan.FromMinutes(2));

    private static async Task Run(string file, string[] arguments, bool asPostgres)
    {
        var result = await TryRun(file, arguments, asPostgres);
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} failed: {result}");
        }
    }

    public override string ToString() => AdminConnectionString;

}
