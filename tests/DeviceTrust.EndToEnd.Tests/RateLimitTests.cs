using System.Net;
using System.Security.Cryptography;
using DeviceTrust.Client.Connection;
using DeviceTrust.Client.Devices;
using DeviceTrust.Client.Profiles;
using DeviceTrust.Proto.V1;
using DeviceTrust.Testing;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;

namespace DeviceTrust.EndToEnd.Tests;

/// <summary>
/// A gateway with small rate limits, one password worker and a short refusal-audit window. Each test speaks from
/// source addresses of its own (127.0.0.x), as different machines would, so their buckets do not mix.
/// </summary>
public sealed class LimitedCluster() : GatewayCluster("dt-e2e-limits", new Dictionary<string, string?>
{
    ["DeviceTrust__Gateway__RateLimits__LoginPerAddress__Burst"] = "12",
    ["DeviceTrust__Gateway__RateLimits__LoginPerAddress__PerMinute"] = "1",
    ["DeviceTrust__Gateway__RateLimits__LoginPerUser__Burst"] = "8",
    ["DeviceTrust__Gateway__RateLimits__LoginPerUser__PerMinute"] = "1",
    ["DeviceTrust__Gateway__RateLimits__TokensPerUser__Burst"] = "2",
    ["DeviceTrust__Gateway__RateLimits__TokensPerUser__PerMinute"] = "1",
    ["DeviceTrust__Gateway__RateLimits__CeremoniesPerUser__Burst"] = "3",
    ["DeviceTrust__Gateway__RateLimits__CeremoniesPerUser__PerMinute"] = "1",
    ["DeviceTrust__Gateway__PasswordHashing__Workers"] = "1",
    ["DeviceTrust__Gateway__PasswordHashing__Queue"] = "0",
    ["DeviceTrust__Gateway__SampledAuditWindow"] = "00:00:03",
});

public sealed class RateLimitTests(LimitedCluster cluster) : IClassFixture<LimitedCluster>, IDisposable
{
    private readonly GrpcChannel _admin = GatewayChannel.ForProfile(cluster.AdminProfile);

    public void Dispose() => _admin.Dispose();

    /// <summary>An anonymous channel from another machine.</summary>
    private GrpcChannel From(string source) => GatewayChannel.Create(cluster.Gateway.Proxy, cluster.AdminProfile.Ca, null, IPAddress.Parse(source));

    private async Task<RpcException?> LoginAsync(string source, string user, string password)
    {
        using var channel = From(source);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        try
        {
            await new AuthService.AuthServiceClient(channel).LoginAsync(new LoginRequest
            {
                User = user,
                Password = password,
                PublicKey = ByteString.CopyFrom(key.ExportSubjectPublicKeyInfo()),
            });
            return null;
        }
        catch (RpcException e)
        {
            return e;
        }
    }

    private static string NewName() => "r" + Guid.NewGuid().ToString("N")[..10];

    private static TimeSpan Pushback(RpcException e) =>
        TimeSpan.FromMilliseconds(long.Parse(e.Trailers.GetValue("grpc-retry-pushback-ms")!, System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>A user with a password, created by the admin; the invitation is accepted from <paramref name="source"/>.</summary>
    private async Task<(string Name, string Password)> UserAsync(string roles, string source)
    {
        var name = NewName();
        var created = await new UserService.UserServiceClient(_admin).CreateUserAsync(new CreateUserRequest { Name = name, Roles = { roles } });
        var invitation = Core.Invitations.InvitationToken.Decode(created.InviteToken);
        var password = "password of " + name;
        using var channel = From(source);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        await Client.Connection.Pushback.RetryAsync(async () => await new AuthService.AuthServiceClient(channel).AcceptInvitationAsync(new AcceptInvitationRequest
        {
            User = name,
            InviteSecret = invitation.Secret,
            NewPassword = password,
            PublicKey = ByteString.CopyFrom(key.ExportSubjectPublicKeyInfo()),
        }), default);
        return (name, password);
    }

    [Fact]
    public async Task Logins_from_one_address_beyond_its_bucket_are_refused_with_a_retry_hint_and_audited_sampled()
    {
        const string Source = "127.0.0.11";
        for (var i = 0; i < 12; i++)
        {
            var answer = await LoginAsync(Source, NewName(), "not a password of anyone");
            Refusals.Is(StatusCode.Unauthenticated, "invalid user name or password", answer!);
        }
        var refused = (await LoginAsync(Source, NewName(), "not a password of anyone"))!;
        Refusals.Is(StatusCode.ResourceExhausted, "too many login attempts from your address (LoginPerAddress): try again in 60 s", refused);
        Assert.InRange(Pushback(refused), TimeSpan.FromSeconds(50), TimeSpan.FromSeconds(61));
        for (var i = 0; i < 5; i++)
        {
            await LoginAsync(Source, NewName(), "x");
        }
        // one event for the first refusal of the window, then one summary of the rest when the window ends
        var first = await AuditTrail.LastAsync(_admin, "ratelimit.refused", e => e.ClientIp == Source && !e.Details.Contains("suppressed", StringComparison.Ordinal));
        Assert.Equal("ResourceExhausted", first.Status);
        Assert.StartsWith("too many login attempts from your address (LoginPerAddress)", first.Message);
        var summary = await AuditTrail.EventuallyAsync(_admin, "ratelimit.refused", e => e.ClientIp == Source && e.Details.Contains("suppressed", StringComparison.Ordinal));
        Assert.StartsWith("5 more like this within 3 s: too many login attempts from your address", summary.Message);
        Assert.Single(await AuditTrail.EventsAsync(_admin, "ratelimit.refused"), e => e.ClientIp == Source && !e.Details.Contains("suppressed", StringComparison.Ordinal));
        // another machine is not affected
        Assert.Equal(StatusCode.Unauthenticated, (await LoginAsync("127.0.0.12", NewName(), "x"))!.StatusCode);
    }

    [Fact]
    public async Task Logins_for_one_name_beyond_its_bucket_are_refused_from_every_address()
    {
        var victim = NewName();
        for (var i = 0; i < 8; i++)
        {
            Refusals.Is(StatusCode.Unauthenticated, "invalid user name or password", (await LoginAsync($"127.0.0.{21 + (i / 2)}", victim, "guess " + i))!);
        }
        var refused = (await LoginAsync("127.0.0.25", victim, "guess 9"))!;
        Refusals.Is(StatusCode.ResourceExhausted, "too many login attempts for this user (LoginPerUser): try again in 60 s", refused);
        var audit = await AuditTrail.LastAsync(_admin, "ratelimit.refused", e => e.ClientIp == "127.0.0.25");
        Assert.Equal(victim, audit.User);
        AuditTrail.IsRefusal(audit, StatusCode.ResourceExhausted, refused.Status.Detail);
    }

    [Fact]
    public async Task Wrong_passwords_delay_that_source_not_the_user_and_a_right_one_ends_the_delay()
    {
        var (bob, password) = await UserAsync("access", "127.0.0.30");
        for (var i = 0; i < 3; i++)
        {
            Refusals.Is(StatusCode.Unauthenticated, "invalid user name or password", (await LoginAsync("127.0.0.31", bob, "wrong " + i))!);
        }
        var delay = await AuditTrail.LastAsync(_admin, "user.login.delay", e => e.User == bob);
        AuditTrail.IsRefusal(delay, StatusCode.ResourceExhausted, $"3 failed logins in a row for {bob} from 127.0.0.31: the next attempt from there must wait 1 s");
        // right away, even the right password waits: the delay is checked before any password
        Refusals.Is(StatusCode.ResourceExhausted, "too many failed logins for this user from your address: try again in 1 s",
            (await LoginAsync("127.0.0.31", bob, password))!);
        // bob at his own machine is not locked out by failures elsewhere
        Assert.Null(await LoginAsync("127.0.0.32", bob, password));
        await Task.Delay(TimeSpan.FromSeconds(1.2));
        Assert.Null(await LoginAsync("127.0.0.31", bob, password));
        var reset = await AuditTrail.LastAsync(_admin, "user.login.delay_reset", e => e.User == bob);
        Assert.True(reset.Success);
        Assert.Equal($"the login delay for {bob} from 127.0.0.31 ended with a correct password after 3 failures", reset.Message);
    }

    [Fact]
    public async Task Token_minting_beyond_the_bucket_is_refused_and_mints_nothing()
    {
        var (name, password) = await UserAsync("device-admin", "127.0.0.40");
        var profile = await LoginProfileAsync(name, password, "127.0.0.40");
        using var channel = GatewayChannel.Create(cluster.Gateway.Proxy, profile.Ca, profile.CertificateWithKey());
        var devices = new DeviceTrustService.DeviceTrustServiceClient(channel);
        var device = await devices.CreateDeviceAsync(new CreateDeviceRequest { OsType = OSType.Linux, AssetTag = "TK" + NewName().ToUpperInvariant() });
        await devices.CreateDeviceEnrollTokenAsync(new CreateDeviceEnrollTokenRequest { DeviceId = device.Id });
        await devices.CreateDeviceEnrollTokenAsync(new CreateDeviceEnrollTokenRequest { DeviceId = device.Id });
        var refused = await Refusals.Of(() => devices.CreateDeviceEnrollTokenAsync(new CreateDeviceEnrollTokenRequest { DeviceId = device.Id }).ResponseAsync);
        Refusals.Is(StatusCode.ResourceExhausted, "too many enrollment tokens for your user (TokensPerUser): try again in 60 s", refused);
        Assert.Equal(2, (await AuditTrail.EventsAsync(_admin, "device.token.create", device: device.Id)).Count(e => e.Success));
        Assert.Contains(await AuditTrail.EventsAsync(_admin, "ratelimit.refused"), e => e.User == name && e.Message.Contains("TokensPerUser", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Ceremony_starts_beyond_the_bucket_are_refused_before_anything_is_read()
    {
        var (name, password) = await UserAsync("access", "127.0.0.50");
        var profile = await LoginProfileAsync(name, password, "127.0.0.50");
        using var channel = GatewayChannel.Create(cluster.Gateway.Proxy, profile.Ca, profile.CertificateWithKey());
        var serial = "CE" + NewName().ToUpperInvariant();
        var created = await new DeviceTrustService.DeviceTrustServiceClient(_admin).CreateDeviceAsync(
            new CreateDeviceRequest { OsType = OSType.Linux, AssetTag = serial, CreateEnrollToken = true });
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var data = new DeviceCollectedData { OsType = OSType.Linux, SerialNumber = serial, OsVersion = "12" };
        var device = await DeviceCeremonies.EnrollAsync(channel, created.EnrollToken.Token, "cred", key, data, default);
        await DeviceCeremonies.AuthenticateAsync(channel, device.Id, "cred", key, data, default);
        await DeviceCeremonies.AuthenticateAsync(channel, device.Id, "cred", key, data, default);
        var refused = await Refusals.Of(() => DeviceCeremonies.AuthenticateAsync(channel, device.Id, "cred", key, data, default));
        Refusals.Is(StatusCode.ResourceExhausted, "too many ceremonies for your user (CeremoniesPerUser): try again in 60 s", refused);
        Assert.Equal(3, (await new DeviceTrustService.DeviceTrustServiceClient(_admin).GetDeviceAsync(new GetDeviceRequest { DeviceId = device.Id })).CollectedData.Count);
        // sampled, not one event per refused ceremony: no device.authenticate failure for it
        Assert.DoesNotContain(await AuditTrail.EventsAsync(_admin, "device.authenticate", device: device.Id), e => !e.Success);
        Assert.Contains(await AuditTrail.EventsAsync(_admin, "ratelimit.refused"), e => e.User == name && e.Message.Contains("CeremoniesPerUser", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_busy_password_pool_refuses_at_once_with_a_short_pushback()
    {
        var answers = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => LoginAsync("127.0.0.60", NewName(), "not a password")));
        var busy = answers.Where(a => a!.StatusCode == StatusCode.ResourceExhausted).ToList();
        Assert.NotEmpty(busy);
        Assert.All(busy, b => Assert.Equal("the gateway is busy checking other passwords: try again in a moment", b!.Status.Detail));
        Assert.All(busy, b => Assert.InRange(Pushback(b!), TimeSpan.FromMilliseconds(1), TimeSpan.FromSeconds(2)));
        Assert.Contains(answers, a => a!.StatusCode == StatusCode.Unauthenticated);
        Assert.Contains(await AuditTrail.EventsAsync(_admin, "ratelimit.refused"), e => e.ClientIp == "127.0.0.60" && e.Message.StartsWith("the gateway is busy", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_bad_invitation_gets_its_reason_without_a_password_hash_even_while_hashing_is_saturated()
    {
        var name = NewName();
        await new UserService.UserServiceClient(_admin).CreateUserAsync(new CreateUserRequest { Name = name, Roles = { "access" } });
        using var flooding = new CancellationTokenSource();
        // six machines keep the single password worker busy until their own buckets run dry
        var flood = Enumerable.Range(0, 6).Select(i => Task.Run(async () =>
        {
            while (!flooding.IsCancellationRequested)
            {
                var answer = await LoginAsync($"127.0.0.{71 + i}", NewName(), "flood");
                if (answer is { StatusCode: StatusCode.ResourceExhausted } && !answer.Status.Detail.StartsWith("the gateway is busy", StringComparison.Ordinal))
                {
                    break;
                }
            }
        })).ToList();
        try
        {
            using var channel = From("127.0.0.70");
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            for (var i = 0; i < 5; i++)
            {
                var refused = await Refusals.Of(() => new AuthService.AuthServiceClient(channel).AcceptInvitationAsync(new AcceptInvitationRequest
                {
                    User = name,
                    InviteSecret = Core.Secrets.SecretToken.New(),
                    NewPassword = "a long enough password",
                    PublicKey = ByteString.CopyFrom(key.ExportSubjectPublicKeyInfo()),
                }).ResponseAsync);
                Refusals.Is(StatusCode.PermissionDenied, "the invitation is not valid: it was replaced or never issued", refused);
            }
        }
        finally
        {
            await flooding.CancelAsync();
            await Task.WhenAll(flood);
        }
        AuditTrail.IsRefusal(await AuditTrail.LastAsync(_admin, "user.invitation.accept", e => e.User == name), StatusCode.PermissionDenied,
            "the invitation is not valid: it was replaced or never issued");
        Assert.False((await new UserService.UserServiceClient(_admin).GetUserAsync(new GetUserRequest { Name = name })).HasPassword);
    }

    [Fact]
    public async Task Unauthenticated_calls_are_written_once_per_window_and_then_summarised()
    {
        const string Source = "127.0.0.80";
        using var channel = From(Source);
        for (var i = 0; i < 10; i++)
        {
            Refusals.Is(StatusCode.Unauthenticated, "a client certificate is required: log in with dtsh login",
                await Refusals.Of(() => new AuthService.AuthServiceClient(channel).WhoAmIAsync(new WhoAmIRequest()).ResponseAsync));
        }
        Assert.Single(await AuditTrail.EventsAsync(_admin, "auth.unauthenticated"), e => e.ClientIp == Source);
        var summary = await AuditTrail.EventuallyAsync(_admin, "auth.unauthenticated", e => e.ClientIp == Source && e.Details.Length > 0);
        Assert.Equal("9 more like this within 3 s: a client certificate is required: log in with dtsh login", summary.Message);
        Assert.Equal("{\"suppressed\":9,\"window_seconds\":3}", summary.Details);
    }

    private async Task<Profile> LoginProfileAsync(string name, string password, string source)
    {
        using var channel = From(source);
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var response = await new AuthService.AuthServiceClient(channel).LoginAsync(new LoginRequest
        {
            User = name,
            Password = password,
            PublicKey = ByteString.CopyFrom(key.ExportSubjectPublicKeyInfo()),
        });
        return new Profile
        {
            Proxy = cluster.Gateway.Proxy,
            User = name,
            Cluster = response.ClusterName,
            Roles = response.Roles.ToList(),
            Ca = cluster.AdminProfile.Ca,
            Certificate = System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadCertificate(response.CertificateDer.Span),
            Key = key,
        };
    }
}
