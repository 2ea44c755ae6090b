using DeviceTrust.Core.Errors;
using Microsoft.Extensions.Configuration;

namespace DeviceTrust.Silo.Hosting;

/// <summary>
/// Our settings, under the <c>DeviceTrust:</c> configuration section (Orleans owns <c>Orleans:</c>).
/// Environment variables work as usual: <c>DeviceTrust__Storage__Provider=postgresql</c>.
/// </summary>
public sealed class DeviceTrustHostOptions
{
    public const string Section = "DeviceTrust";

    /// <summary>Where the embedded database, the generated master key and the bootstrap invitation live.</summary>
    public string DataDir { get; set; } = "data";

    public string ClusterName { get; set; } = "devicetrust";

    public StorageOptions Storage { get; set; } = new();

    /// <summary>Base64 of 32 random bytes. Also read from <c>DEVICETRUST_MASTER_KEY</c>.</summary>
    public string? MasterKey { get; set; }

    /// <summary>A file holding the base64 master key. Default in embedded mode: <c>{DataDir}/master.key</c> (created if absent).</summary>
    public string? MasterKeyFile { get; set; }

    /// <summary>Silo-to-silo port.</summary>
    public int SiloPort { get; set; } = 11111;

    /// <summary>Port on which Orleans clients reach the silo.</summary>
    public int GatewayPort { get; set; } = 30000;

    public string DataDirFullPath => Path.GetFullPath(DataDir);

    public static DeviceTrustHostOptions From(IConfiguration configuration)
    {
        var options = new DeviceTrustHostOptions();
        configuration.GetSection(Section).Bind(options);
        options.MasterKey ??= configuration["DEVICETRUST_MASTER_KEY"];
        options.Storage.Validate();
        return options;
    }
}

public sealed class StorageOptions
{
    public const string Sqlite = "sqlite";
    public const string PostgreSql = "postgresql";

    /// <summary><c>sqlite</c> (embedded default: a file under the data directory) or <c>postgresql</c>.</summary>
    public string Provider { get; set; } = Sqlite;

    /// <summary>Required for PostgreSQL. For SQLite, default <c>Data Source={DataDir}/devicetrust.db</c>.</summary>
    public string? ConnectionString { get; set; }

    public bool IsSqlite => Provider == Sqlite;

    /// <summary>The ADO.NET invariant the Orleans providers know (System.Data.SQLite maps to Microsoft.Data.Sqlite).</summary>
    public string Invariant => IsSqlite ? "System.Data.SQLite" : "Npgsql";

    public string ConnectionStringFor(DeviceTrustHostOptions host) =>
        ConnectionString ?? (IsSqlite
            ? $"Data Source={Path.Combine(host.DataDirFullPath, "devicetrust.db")};Pooling=True"
            : throw DeviceTrustException.InvalidArgument("DeviceTrust:Storage:ConnectionString is required for PostgreSQL"));

    public void Validate()
    {
        if (Provider is not (Sqlite or PostgreSql))
        {
            throw DeviceTrustException.InvalidArgument($"DeviceTrust:Storage:Provider \"{Provider}\" is unknown: use sqlite or postgresql");
        }
    }
}
