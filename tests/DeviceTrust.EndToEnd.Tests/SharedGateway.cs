using DeviceTrust.Client.Profiles;
using DeviceTrust.Testing;

namespace DeviceTrust.EndToEnd.Tests;

/// <summary>A running cluster under test: its gateway process and an admin logged in with dtsh.</summary>
public interface ICluster
{
    GatewayProcess Gateway { get; }
    Cli Admin { get; }
    string Path(string relative);
}

/// <summary>
/// A gateway of its own in a temporary folder, started with <paramref name="environment"/>, with the bootstrap admin
/// logged in. Fixtures differ only in what they configure and what they start beside it.
/// </summary>
public abstract class GatewayCluster(string name, IReadOnlyDictionary<string, string?>? environment = null) : IAsyncLifetime, ICluster
{
    public const string AdminPassword = "admin password 1234";
    private readonly TempDirectory _directory = new(name);

    public GatewayProcess Gateway { get; private set; } = null!;
    public Cli Admin { get; private set; } = null!;
    public Profile AdminProfile => new ProfileStore(Admin.Home).Load()!;

    public string Path(string relative) => _directory[relative];

    /// <summary>Settings known only once the fixture starts (a database, a TPM), merged over the constructor's.</summary>
    protected virtual Task<IReadOnlyDictionary<string, string?>> MoreEnvironmentAsync() =>
        Task.FromResult<IReadOnlyDictionary<string, string?>>(new Dictionary<string, string?>());

    /// <summary>What must happen before the gateway starts (the schema of an external database).</summary>
    protected virtual Task BeforeStartAsync() => Task.CompletedTask;

    /// <summary>What starts once the gateway runs and the admin is logged in (an SSH node, a proxy).</summary>
    protected virtual Task AfterStartAsync() => Task.CompletedTask;

    public async Task InitializeAsync()
    {
        var settings = new Dictionary<string, string?>(environment ?? new Dictionary<string, string?>());
        foreach (var (key, value) in await MoreEnvironmentAsync())
        {
            settings[key] = value;
        }
        Gateway = new GatewayProcess(_directory["data"], settings);
        await BeforeStartAsync();
        await Gateway.StartAsync();
        Admin = new Cli(_directory["admin-home"]);
        (await Admin.DtshWithInput(AdminPassword + "\n", "login", "--proxy", Gateway.Proxy, "--invite", Gateway.AdminInvitation)).Succeeded();
        await AfterStartAsync();
    }

    /// <summary>A new user with these roles who has accepted the invitation, with their own profile folder.</summary>
    public async Task<(string Name, Cli Cli, string Password)> NewUserAsync(string roles)
    {
        var user = "u" + Guid.NewGuid().ToString("N")[..10];
        var added = (await Admin.Dtctl("users", "add", user, "--roles", roles)).Succeeded();
        var token = added.StdOut.Split(' ', '\n').Single(w => w.StartsWith("dtinv1.", StringComparison.Ordinal)).Trim();
        var cli = new Cli(_directory[user + "-home"]);
        var password = "password of " + user;
        (await cli.DtshWithInput(password + "\n", "login", "--proxy", Gateway.Proxy, "--invite", token)).Succeeded();
        return (user, cli, password);
    }

    public virtual async Task DisposeAsync()
    {
        await Gateway.DisposeAsync();
        _directory.Dispose();
    }
}

/// <summary>One running gateway with an admin logged in, shared by the tests of a collection.</summary>
public sealed class SharedGateway() : GatewayCluster("dt-e2e", GatewayProcess.HighLimits);

[CollectionDefinition(Name)]
public sealed class SharedGatewayCollection : ICollectionFixture<SharedGateway>
{
    public const string Name = "shared gateway";
}

/// <summary>
/// The same on PostgreSQL (what production runs), with the schema applied by `silo db init`, a master key from the
/// environment, and short ceremony deadlines so the whole-ceremony timeout can be shown without waiting a minute.
/// </summary>
public class PostgresGateway : GatewayCluster
{
    public PostgresGateway() : this("dt-e2e-pg")
    {
    }

    protected PostgresGateway(string name) : base(name, new Dictionary<string, string?>(GatewayProcess.HighLimits)
    {
        ["DeviceTrust__Storage__Provider"] = "postgresql",
        ["DEVICETRUST_MASTER_KEY"] = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)),
        ["DeviceTrust__Gateway__CeremonyFirstMessageTimeout"] = FirstMessageTimeout.ToString(),
        ["DeviceTrust__Gateway__CeremonyTimeout"] = CeremonyTimeout.ToString(),
    })
    {
    }

    public static readonly TimeSpan FirstMessageTimeout = TimeSpan.FromSeconds(2);
    public static readonly TimeSpan CeremonyTimeout = TimeSpan.FromSeconds(4);

    protected override async Task<IReadOnlyDictionary<string, string?>> MoreEnvironmentAsync() => new Dictionary<string, string?>
    {
        ["DeviceTrust__Storage__ConnectionString"] = await (await PostgresServer.SharedAsync()).CreateDatabaseAsync(),
    };

    protected override async Task BeforeStartAsync() =>
        (await ProcessRunner.RunAsync("dotnet", [Binaries.Silo, "db", "init"], environment: Gateway.Environment, timeout: TimeSpan.FromMinutes(1))).Succeeded();
}

[CollectionDefinition(Name)]
public sealed class PostgresGatewayCollection : ICollectionFixture<PostgresGateway>
{
    public const string Name = "postgres gateway";
}
