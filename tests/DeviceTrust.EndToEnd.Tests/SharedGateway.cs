using DeviceTrust.Testing;

namespace DeviceTrust.EndToEnd.Tests;

/// <summary>A running cluster under test: its gateway process and an admin logged in with dtsh.</summary>
public interface ICluster
{
    GatewayProcess Gateway { get; }
    Cli Admin { get; }
    string Path(string relative);
}

/// <summary>One running gateway with an admin logged in, shared by the tests of a collection.</summary>
public sealed class SharedGateway : IAsyncLifetime, ICluster
{
    public const string AdminPassword = "admin password 1234";
    private readonly TempDirectory _directory = new("dt-e2e");

    public GatewayProcess Gateway { get; private set; } = null!;
    public Cli Admin { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Gateway = new GatewayProcess(_directory["data"], GatewayProcess.HighLimits);
        await Gateway.StartAsync();
        Admin = new Cli(_directory["admin-home"]);
        (await Admin.DtshWithInput(AdminPassword + "\n", "login", "--proxy", Gateway.Proxy, "--invite", Gateway.AdminInvitation)).Succeeded();
    }

    /// <summary>A new user with these roles who has accepted the invitation, with their own profile folder.</summary>
    public async Task<(string Name, Cli Cli, string Password)> NewUserAsync(string roles)
    {
        var name = "u" + Guid.NewGuid().ToString("N")[..10];
        var added = (await Admin.Dtctl("users", "add", name, "--roles", roles)).Succeeded();
        var token = added.StdOut.Split(' ', '\n').Single(w => w.StartsWith("dtinv1.", StringComparison.Ordinal)).Trim();
        var cli = new Cli(_directory[name + "-home"]);
        var password = "password of " + name;
        (await cli.DtshWithInput(password + "\n", "login", "--proxy", Gateway.Proxy, "--invite", token)).Succeeded();
        return (name, cli, password);
    }

    public string Path(string relative) => _directory[relative];

    public async Task DisposeAsync()
    {
        await Gateway.DisposeAsync();
        _directory.Dispose();
    }
}

[CollectionDefinition(Name)]
public sealed class SharedGatewayCollection : ICollectionFixture<SharedGateway>
{
    public const string Name = "shared gateway";
}

/// <summary>
/// The same on PostgreSQL (what production runs), with the schema applied by `silo db init`, a master key from the
/// environment, and short ceremony deadlines so the whole-ceremony timeout can be shown without waiting a minute.
/// </summary>
public sealed class PostgresGateway : IAsyncLifetime, ICluster
{
    public static readonly TimeSpan FirstMessageTimeout = TimeSpan.FromSeconds(2);
    public static readonly TimeSpan CeremonyTimeout = TimeSpan.FromSeconds(4);
    private readonly TempDirectory _directory = new("dt-e2e-pg");

    public GatewayProcess Gateway { get; private set; } = null!;
    public Cli Admin { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var environment = new Dictionary<string, string?>(GatewayProcess.HighLimits)
        {
            ["DeviceTrust__Storage__Provider"] = "postgresql",
            ["DeviceTrust__Storage__ConnectionString"] = await (await PostgresServer.SharedAsync()).CreateDatabaseAsync(),
            ["DEVICETRUST_MASTER_KEY"] = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)),
            ["DeviceTrust__Gateway__CeremonyFirstMessageTimeout"] = FirstMessageTimeout.ToString(),
            ["DeviceTrust__Gateway__CeremonyTimeout"] = CeremonyTimeout.ToString(),
        };
        Gateway = new GatewayProcess(_directory["data"], environment);
        (await ProcessRunner.RunAsync("dotnet", [Binaries.Silo, "db", "init"], environment: Gateway.Environment, timeout: TimeSpan.FromMinutes(1))).Succeeded();
        await Gateway.StartAsync();
        Admin = new Cli(_directory["admin-home"]);
        (await Admin.DtshWithInput(SharedGateway.AdminPassword + "\n", "login", "--proxy", Gateway.Proxy, "--invite", Gateway.AdminInvitation)).Succeeded();
    }

    public string Path(string relative) => _directory[relative];

    public async Task DisposeAsync()
    {
        await Gateway.DisposeAsync();
        _directory.Dispose();
    }
}

[CollectionDefinition(Name)]
public sealed class PostgresGatewayCollection : ICollectionFixture<PostgresGateway>
{
    public const string Name = "postgres gateway";
}
