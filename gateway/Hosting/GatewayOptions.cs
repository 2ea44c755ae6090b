using System.Net;
using DeviceTrust.Core.Errors;
using Microsoft.Extensions.Configuration;

namespace DeviceTrust.Gateway.Hosting;

/// <summary>Gateway settings, under <c>DeviceTrust:Gateway:</c>.</summary>
public sealed class GatewayOptions
{
    public const string Section = "DeviceTrust:Gateway";

    /// <summary>The largest request message the gateway reads (the biggest real one, a TPM event log, is 512 KiB).</summary>
    public const int MaxMessageBytes = 1024 * 1024;

    public const string Embedded = "embedded";
    public const string Client = "client";

    /// <summary>
    /// <c>embedded</c> (default): this process is also a silo, a complete cluster by itself or one node of a bigger
    /// one. <c>client</c>: a stateless gateway that holds no grains and reaches the silos as an Orleans client
    /// (needs <c>DeviceTrust:Cluster:Membership database</c>). Also <c>--mode client</c> on the command line.
    /// </summary>
    public string Mode { get; set; } = Embedded;

    public bool IsClient => Mode == Client;

    /// <summary>Address and port of the HTTPS (HTTP/2 and HTTP/1.1) listener.</summary>
    public string Listen { get; set; } = "127.0.0.1:3025";

    /// <summary>
    /// Reverse proxies (addresses or CIDR networks, comma-separated) whose <c>X-Forwarded-For</c> names the real client:
    /// the audit log, rate limits and device web authentication's address check then use it. Empty (the default):
    /// no header is believed, from anywhere, loopback included.
    /// </summary>
    public string TrustedProxies { get; set; } = "";

    /// <summary><see cref="TrustedProxies"/>, parsed.</summary>
    public IReadOnlyList<IPNetwork> TrustedProxyNetworks => Networks(TrustedProxies, nameof(TrustedProxies));

    /// <summary>
    /// TCP load balancers (addresses or CIDR networks, comma-separated) that send the PROXY protocol header (v1 or v2)
    /// before each connection's first byte: a connection from one of them must start with it, and the client it names
    /// is the connection's peer for everything (TLS, gRPC and the console alike). Nobody else's header is believed: from
    /// any other address the bytes are simply not TLS, and the connection fails. Empty (the default): off.
    /// </summary>
    public string ProxyProtocolFrom { get; set; } = "";

    /// <summary><see cref="ProxyProtocolFrom"/>, parsed.</summary>
    public IReadOnlyList<IPNetwork> ProxyProtocolNetworks => Networks(ProxyProtocolFrom, nameof(ProxyProtocolFrom));

    private static List<IPNetwork> Networks(string value, string setting) =>
        value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(entry =>
            IPNetwork.TryParse(entry, out var network) ? network
            : IPAddress.TryParse(entry, out var address) ? new IPNetwork(address, address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128)
            : throw DeviceTrustException.InvalidArgument($"DeviceTrust:Gateway:{setting}: \"{entry}\" is neither an address nor a network like 10.0.0.0/8")).ToList();

    /// <summary>Extra DNS names and IP addresses for the server certificate (the listen address and localhost are always in it).</summary>
    public List<string> PublicAddresses { get; set; } = [];

    /// <summary>Lifetime of user certificates when the client asks for none; also the most it may ask for.</summary>
    public TimeSpan CertificateTtl { get; set; } = TimeSpan.FromHours(12);

    /// <summary>How long the bootstrap invitation for <c>admin</c> stays valid.</summary>
    public TimeSpan BootstrapInviteTtl { get; set; } = TimeSpan.FromHours(24);

    /// <summary>How stale cached users and roles may be on the hot path.</summary>
    public TimeSpan PolicyCacheTtl { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How long an SSH node's credential and host certificate from dtnode join are valid; join again to renew.</summary>
    public TimeSpan NodeCredentialLifetime { get; set; } = TimeSpan.FromDays(365);

    /// <summary>How often nodes report that they are alive; a node unseen for three intervals is shown offline.</summary>
    public TimeSpan NodeHeartbeatInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a device may take for its first ceremony message, and for the whole ceremony.</summary>
    public TimeSpan CeremonyFirstMessageTimeout { get; set; } = TimeSpan.FromSeconds(10);
    public TimeSpan CeremonyTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Refusals before a method runs (no certificate, rate limits, malformed requests, too many connections) are
    /// written once per kind and source in this window; the rest of the window is counted into one summary event.
    /// </summary>
    public TimeSpan SampledAuditWindow { get; set; } = TimeSpan.FromMinutes(1);

    public PasswordHashingOptions PasswordHashing { get; set; } = new();

    public RateLimitsOptions RateLimits { get; set; } = new();

    public ConnectionOptions Connections { get; set; } = new();

    /// <summary>
    /// Address and port of the Prometheus scrape endpoint (<c>/metrics</c>, plain HTTP/1.1, nothing else served there),
    /// e.g. <c>0.0.0.0:9464</c> in a pod. Empty (the default): no metrics listener.
    /// </summary>
    public string MetricsListen { get; set; } = "";

    public IPEndPoint? MetricsEndPoint => Silo.Hosting.ClusterNodeOptions.OptionalEndPoint(MetricsListen, "DeviceTrust:Gateway:MetricsListen");

    public IPEndPoint ListenEndPoint =>
        IPEndPoint.TryParse(Listen, out var endPoint) && endPoint.Port != 0
            ? endPoint
            : throw DeviceTrustException.InvalidArgument($"DeviceTrust:Gateway:Listen \"{Listen}\" is not an address:port");

    public static GatewayOptions From(IConfiguration configuration)
    {
        var options = new GatewayOptions();
        configuration.GetSection(Section).Bind(options);
        _ = options.ListenEndPoint;
        _ = options.TrustedProxyNetworks;
        _ = options.ProxyProtocolNetworks;
        if (options.MetricsEndPoint is { } metrics && metrics.Port == options.ListenEndPoint.Port)
        {
            throw DeviceTrustException.InvalidArgument($"DeviceTrust:Gateway:MetricsListen must use another port than Listen ({options.Listen})");
        }
        if (options.Mode is not (Embedded or Client))
        {
            throw DeviceTrustException.InvalidArgument($"the gateway mode \"{options.Mode}\" is unknown: use embedded or client (--mode client)");
        }
        if (options.CertificateTtl <= TimeSpan.Zero)
        {
            throw DeviceTrustException.InvalidArgument("DeviceTrust:Gateway:CertificateTtl must be positive");
        }
        if (options.CeremonyFirstMessageTimeout <= TimeSpan.Zero || options.CeremonyTimeout < options.CeremonyFirstMessageTimeout)
        {
            throw DeviceTrustException.InvalidArgument("DeviceTrust:Gateway:CeremonyFirstMessageTimeout must be positive and at most CeremonyTimeout");
        }
        if (options.NodeCredentialLifetime < TimeSpan.FromHours(1))
        {
            throw DeviceTrustException.InvalidArgument("DeviceTrust:Gateway:NodeCredentialLifetime must be at least an hour");
        }
        if (options.NodeHeartbeatInterval < TimeSpan.FromSeconds(1) || options.NodeHeartbeatInterval > TimeSpan.FromMinutes(10))
        {
            throw DeviceTrustException.InvalidArgument("DeviceTrust:Gateway:NodeHeartbeatInterval must be between one second and ten minutes");
        }
        if (options.SampledAuditWindow < TimeSpan.FromSeconds(1))
        {
            throw DeviceTrustException.InvalidArgument("DeviceTrust:Gateway:SampledAuditWindow must be at least one second");
        }
        options.PasswordHashing.Validate();
        options.RateLimits.Validate();
        options.Connections.Validate();
        return options;
    }
}

/// <summary>Under <c>DeviceTrust:Gateway:PasswordHashing</c>: the bounded pool password hashes run on.</summary>
public sealed class PasswordHashingOptions
{
    /// <summary>Dedicated threads hashing passwords: about one per core, so hashing cannot take the whole machine.</summary>
    public int Workers { get; set; } = Environment.ProcessorCount;

    /// <summary>Hashes that may wait for a worker; beyond that, a login is refused at once (ResourceExhausted, retry hint).</summary>
    public int Queue { get; set; }

    public void Validate()
    {
        if (Workers is < 1 or > 256 || Queue is < 0 or > 4096)
        {
            throw DeviceTrustException.InvalidArgument("DeviceTrust:Gateway:PasswordHashing: Workers must be 1 to 256 and Queue 0 to 4096");
        }
    }
}

/// <summary>One token bucket: up to <see cref="Burst"/> at once, refilled at <see cref="PerMinute"/>.</summary>
public sealed class RateLimit
{
    public int Burst { get; set; }
    public int PerMinute { get; set; }

    public RateLimit()
    {
    }

    public RateLimit(int burst, int perMinute)
    {
        Burst = burst;
        PerMinute = perMinute;
    }

    public override string ToString() => $"burst {Burst}, {PerMinute}/min";
}

/// <summary>
/// Under <c>DeviceTrust:Gateway:RateLimits</c>: token buckets per source address (an IPv4 address or an IPv6 /64)
/// and per user name, for the calls that cost the server work an anonymous or careless caller can ask for.
/// Each gateway counts its own callers.
/// </summary>
public sealed class RateLimitsOptions
{
    /// <summary>Password logins and invitation acceptances, per source address.</summary>
    public RateLimit LoginPerAddress { get; set; } = new(20, 20);

    /// <summary>Password logins and invitation acceptances, per user name (as typed, existing or not).</summary>
    public RateLimit LoginPerUser { get; set; } = new(10, 6);

    /// <summary>Enrollment tokens minted, per source address and per calling user.</summary>
    public RateLimit TokensPerAddress { get; set; } = new(200, 240);
    public RateLimit TokensPerUser { get; set; } = new(100, 120);

    /// <summary>Ceremonies (enrollment, device authentication) started, per source address and per calling user.</summary>
    public RateLimit CeremoniesPerAddress { get; set; } = new(200, 6000);
    public RateLimit CeremoniesPerUser { get; set; } = new(20, 60);

    /// <summary>Device web tokens ("Authenticate this device" in the web console), per user.</summary>
    public RateLimit WebTokensPerUser { get; set; } = new(10, 10);

    public IEnumerable<(string Name, RateLimit Limit)> All =>
    [
        (nameof(LoginPerAddress), LoginPerAddress), (nameof(LoginPerUser), LoginPerUser),
        (nameof(TokensPerAddress), TokensPerAddress), (nameof(TokensPerUser), TokensPerUser),
        (nameof(CeremoniesPerAddress), CeremoniesPerAddress), (nameof(CeremoniesPerUser), CeremoniesPerUser),
        (nameof(WebTokensPerUser), WebTokensPerUser),
    ];

    public void Validate()
    {
        foreach (var (name, limit) in All)
        {
            if (limit.Burst is < 1 or > 1_000_000 || limit.PerMinute is < 1 or > 6_000_000)
            {
                throw DeviceTrustException.InvalidArgument($"DeviceTrust:Gateway:RateLimits:{name}: Burst must be 1 to 1000000 and PerMinute 1 to 6000000");
            }
        }
    }
}

/// <summary>Under <c>DeviceTrust:Gateway:Connections</c>: Kestrel's limits, so idle or slow connections cannot pile up.</summary>
public sealed class ConnectionOptions
{
    /// <summary>Open connections in all.</summary>
    public int MaxConnections { get; set; } = 10_000;

    /// <summary>Open connections from one source address (an IPv4 address or an IPv6 /64).</summary>
    public int MaxConnectionsPerAddress { get; set; } = 256;

    /// <summary>A TLS handshake must finish within this.</summary>
    public TimeSpan HandshakeTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>A connection with no request in progress is closed after this.</summary>
    public TimeSpan KeepAliveTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The headers of a request must arrive within this.</summary>
    public TimeSpan RequestHeadersTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Concurrent HTTP/2 streams (calls) on one connection.</summary>
    public int MaxStreamsPerConnection { get; set; } = 100;

    public void Validate()
    {
        if (MaxConnections < 1 || MaxConnectionsPerAddress < 1 || MaxStreamsPerConnection < 1
            || HandshakeTimeout <= TimeSpan.Zero || KeepAliveTimeout <= TimeSpan.Zero || RequestHeadersTimeout <= TimeSpan.Zero)
        {
            throw DeviceTrustException.InvalidArgument("DeviceTrust:Gateway:Connections: every limit and timeout must be positive");
        }
    }
}
