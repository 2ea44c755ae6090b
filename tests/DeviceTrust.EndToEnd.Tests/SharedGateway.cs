using DeviceTrust.Testing;

namespace DeviceTrust.EndToEnd.Tests;

/// <summary>One running gateway with an admin logged in, shared by the tests of a collection.</summary>
public sealed class SharedGateway : IAsyncLifetime
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
