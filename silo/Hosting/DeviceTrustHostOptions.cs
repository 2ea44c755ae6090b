using System.Net;
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

    /// <summary>
    /// While rotating the master key: the old key, so that secrets still encrypted under it decrypt until
    /// <c>dtctl cluster rewrap-secrets</c> has moved them to the new one. Or <c>DEVICETRUST_PREVIOUS_MASTER_KEY</c>.
    /// </summary>
    public string? PreviousMasterKey { get; set; }

    /// <summary>A file holding the base64 master key. Default in embedded mode: <c>{DataDir}/master.key</c> (created if absent).</summary>
    public string? MasterKeyFile { get; set; }

    /// <summary>How this node finds the others, and the Orleans ports (<c>DeviceTrust:Cluster:</c>).</summary>
    public ClusterNodeOptions Cluster { get; set; } = new();

    public string DataDirFullPath => Path.GetFullPath(DataDir);

    public static DeviceTrustHostOptions From(IConfiguration configuration)
    {
        var options = new DeviceTrustHostOptions();
        configuration.GetSection(Section).Bind(options);
        options.MasterKey ??= configuration["DEVICETRUST_MASTER_KEY"];
        options.PreviousMasterKey ??= configuration["DEVICETRUST_PREVIOUS_MASTER_KEY"];
        options.Storage.Validate();
        options.Cluster.Validate(options.Storage);
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

    /// <summary>What every Orleans ADO.NET provider (storage, clustering, reminders) is given.</summary>
    public (string Invariant, string ConnectionString) Database(DeviceTrustHostOptions host) => (Invariant, ConnectionStringFor(host));

    public void Validate()
    {
        if (Provider is not (Sqlite or PostgreSql))
        {
            throw DeviceTrustException.InvalidArgument($"DeviceTrust:Storage:Provider \"{Provider}\" is unknown: use sqlite or postgresql");
        }
    }
}

/// <summary>
/// Under <c>DeviceTrust:Cluster:</c>: cluster membership and the two Orleans ports. These are the cluster's inside:
/// silo-to-silo traffic and the Orleans client connections of client-mode gateways, unauthenticated and unencrypted,
/// so they belong on a private network. "Gateway" in DeviceTrust always means our gRPC edge
/// (<c>DeviceTrust:Gateway:Listen</c>); what Orleans calls a silo's gateway port is <see cref="ClientPort"/> here.
/// </summary>
public sealed class ClusterNodeOptions
{
    public const string Local = "local";
    public const string Database = "database";

    /// <summary>
    /// <c>local</c>: a single silo on loopback (the embedded default); <c>database</c>: silos and client-mode gateways
    /// find each other through the membership table in the PostgreSQL database (the default with PostgreSQL).
    /// </summary>
    public string? Membership { get; set; }

    /// <summary>Tells one DeviceTrust cluster's nodes from another's in the same database; every node of a cluster uses the same.</summary>
    public string ClusterId { get; set; } = "devicetrust";

    /// <summary>Names the stored state; it must stay the same for the life of the data.</summary>
    public string ServiceId { get; set; } = "devicetrust";

    /// <summary>Silo-to-silo port.</summary>
    public int SiloPort { get; set; } = 11111;

    /// <summary>The port on which client-mode gateways (Orleans clients) reach this silo; Orleans calls it the gateway port.</summary>
    public int ClientPort { get; set; } = 30000;

    /// <summary>
    /// The address this silo listens on and tells the others (in the membership table). Loopback by default, so
    /// nothing is reachable from the network until an operator says so; across machines, this machine's private IP.
    /// </summary>
    public string Address { get; set; } = "127.0.0.1";

    /// <summary>Listen on every interface while advertising <see cref="Address"/> (containers: advertise the pod IP).</summary>
    public bool ListenOnAnyAddress { get; set; }

    /// <summary>The silo's name in the membership table and the logs (a pod: its name, from the downward API); empty: Orleans picks one.</summary>
    public string SiloName { get; set; } = "";

    /// <summary>
    /// How long a stopping process (SIGTERM) may take to leave the cluster gracefully: the silo hands its grains
    /// over and in-flight calls finish. Keep it below Kubernetes' terminationGracePeriodSeconds.
    /// </summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long a grain call may take before it fails (Unavailable, retry). A call in flight to a silo that died gets
    /// no answer at all: this bounds how long its caller waits (Orleans' own default is 30 s).
    /// </summary>
    public TimeSpan CallTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long a grain (a device, a user) that nobody calls stays in memory before Orleans deactivates it; unset,
    /// Orleans' own default. Shorter trades memory for reloads from the database (docs/benchmarks.md measures both).
    /// </summary>
    public TimeSpan? IdleGrainLifetime { get; set; }

    /// <summary>
    /// A standalone silo's plain HTTP/1.1 port for Prometheus (<c>/metrics</c>) and probes (<c>/healthz</c>,
    /// <c>/readyz</c>), e.g. <c>0.0.0.0:9464</c>; empty (the default): none. An embedded silo's metrics are the
    /// gateway's (DeviceTrust:Gateway:MetricsListen).
    /// </summary>
    public string MetricsListen { get; set; } = "";

    public IPEndPoint? MetricsEndPoint => OptionalEndPoint(MetricsListen, "DeviceTrust:Cluster:MetricsListen");

    /// <summary>An optional listener setting: empty is none; otherwise an IP address and a port other than 0.</summary>
    public static IPEndPoint? OptionalEndPoint(string value, string setting) =>
        value.Length == 0 ? null
        : IPEndPoint.TryParse(value, out var endPoint) && endPoint.Port != 0 ? endPoint
        : throw DeviceTrustException.InvalidArgument($"{setting} \"{value}\" is not an address:port");

    public bool IsDatabase => Membership == Database;

    /// <summary>Sets Orleans' cluster and service ids from ours.</summary>
    public void Identify(Orleans.Configuration.ClusterOptions ids)
    {
        ids.ClusterId = ClusterId;
        ids.ServiceId = ServiceId;
    }

    public IPAddress AdvertisedAddress => IPAddress.TryParse(Address, out var ip) && !ip.Equals(IPAddress.Any) && !ip.Equals(IPAddress.IPv6Any)
        ? ip
        : throw DeviceTrustException.InvalidArgument($"DeviceTrust:Cluster:Address \"{Address}\" is not an IP address other nodes can reach");

    public void Validate(StorageOptions storage)
    {
        Membership ??= storage.IsSqlite ? Local : Database;
        if (Membership is not (Local or Database))
        {
            throw DeviceTrustException.InvalidArgument($"DeviceTrust:Cluster:Membership \"{Membership}\" is unknown: use local or database");
        }
        if (IsDatabase && storage.IsSqlite)
        {
            throw DeviceTrustException.InvalidArgument(
                "DeviceTrust:Cluster:Membership database needs PostgreSQL (DeviceTrust:Storage:Provider postgresql): an SQLite file serves one node");
        }
        if (SiloPort is < 1 or > 65535 || ClientPort is < 1 or > 65535 || SiloPort == ClientPort)
        {
            throw DeviceTrustException.InvalidArgument("DeviceTrust:Cluster:SiloPort and ClientPort must be two different ports (1-65535)");
        }
        if (!IsValidId(ClusterId) || !IsValidId(ServiceId))
        {
            throw DeviceTrustException.InvalidArgument("DeviceTrust:Cluster:ClusterId and ServiceId must be 1 to 64 letters, digits, '-', '_' or '.'");
        }
        if (MetricsEndPoint is { Port: var metrics } && (metrics == SiloPort || metrics == ClientPort))
        {
            throw DeviceTrustException.InvalidArgument("DeviceTrust:Cluster:MetricsListen must use another port than SiloPort and ClientPort");
        }
        if (CallTimeout < TimeSpan.FromSeconds(1) || CallTimeout > TimeSpan.FromMinutes(5))
        {
            throw DeviceTrustException.InvalidArgument("DeviceTrust:Cluster:CallTimeout must be between one second and five minutes");
        }
        if (IdleGrainLifetime is { } idle && (idle < TimeSpan.FromMinutes(2) || idle > TimeSpan.FromDays(1)))
        {
            // Orleans looks for idle grains once a minute and wants the lifetime longer than that.
            throw DeviceTrustException.InvalidArgument("DeviceTrust:Cluster:IdleGrainLifetime must be between two minutes and one day");
        }
        if (SiloName.Length > 253 || !SiloName.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
        {
            throw DeviceTrustException.InvalidArgument("DeviceTrust:Cluster:SiloName must be at most 253 letters, digits, '-', '_' or '.'");
        }
        if (ShutdownTimeout < TimeSpan.FromSeconds(1) || ShutdownTimeout > TimeSpan.FromMinutes(10))
        {
            throw DeviceTrustException.InvalidArgument("DeviceTrust:Cluster:ShutdownTimeout must be between one second and ten minutes");
        }
        _ = AdvertisedAddress;
    }

    private static bool IsValidId(string id) =>
        id.Length is >= 1 and <= 64 && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');
}
