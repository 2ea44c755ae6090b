using System.CommandLine;
using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using DeviceTrust.Client.Connection;
using DeviceTrust.Client.Profiles;
using DeviceTrust.Proto.V1;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;

namespace DeviceTrust.LoadTest;

/// <summary>
/// <c>login-flood</c>: what a flood of wrong-password logins does to everyone else. N workers send bad logins as
/// fast as the gateway answers, from one source address or spread over many (127.0.1.x, a distributed flood);
/// meanwhile an authenticated user calls WhoAmI back to back and logs in with the right password every 3 s, as
/// dtsh does (waiting out short pushbacks). Prints both latencies with and without the flood, and the flood's answers.
/// </summary>
public static class LoginFloodScenario
{
    public static Command Create()
    {
        var profileDirectory = new Option<string?>("--profile") { Description = "Profile folder of the measured user (default: DTSH_HOME or ~/.dtsh); the password comes from DT_PASSWORD" };
        var flood = new Option<int>("--flood") { DefaultValueFactory = _ => 64, Description = "Concurrent bad logins in flight" };
        var sources = new Option<int>("--flood-sources") { DefaultValueFactory = _ => 1, Description = "Source addresses the flood comes from (127.0.1.1 …), at most 250" };
        var seconds = new Option<int>("--seconds") { DefaultValueFactory = _ => 20 };
        var command = new Command("login-flood", "Measure an authenticated call and a real login during a bad-login flood") { profileDirectory, flood, sources, seconds };
        command.SetAction(async (result, cancellationToken) =>
        {
            var store = result.GetValue(profileDirectory) is { } folder ? new ProfileStore(folder) : ProfileStore.Default();
            var profile = CurrentProfile.Require(store);
            var password = Environment.GetEnvironmentVariable("DT_PASSWORD") ?? throw new InvalidOperationException("set DT_PASSWORD to the measured user's password");
            using var authenticated = GatewayChannel.ForProfile(profile);
            using var anonymous = GatewayChannel.Anonymous(profile.Proxy, profile.Ca);
            await new AuthService.AuthServiceClient(authenticated).WhoAmIAsync(new WhoAmIRequest(), cancellationToken: cancellationToken);

            var duration = TimeSpan.FromSeconds(result.GetValue(seconds));
            var idle = await MeasureAsync(authenticated, anonymous, profile.User, password, TimeSpan.FromSeconds(5), cancellationToken);
            Console.WriteLine(idle.WhoAmI.Summary("WhoAmI, no flood", idle.Wall));
            Console.WriteLine(idle.Login.Summary("real login, no flood", idle.Wall));

            var floodSources = Math.Clamp(result.GetValue(sources), 1, 250);
            var channels = Enumerable.Range(1, floodSources)
                .Select(i => GatewayChannel.Create(profile.Proxy, profile.Ca, null, IPAddress.Parse($"127.0.1.{i}"))).ToList();
            var answers = new System.Collections.Concurrent.ConcurrentDictionary<string, int>();
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var workers = Enumerable.Range(0, result.GetValue(flood)).Select(i => Task.Run(async () =>
            {
                var client = new AuthService.AuthServiceClient(channels[i % channels.Count]);
                using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
                var publicKey = ByteString.CopyFrom(key.ExportSubjectPublicKeyInfo());
                while (!stop.IsCancellationRequested)
                {
                    string outcome;
                    try
                    {
                        await client.LoginAsync(new LoginRequest { User = "flood" + Random.Shared.Next(), Password = "not a password", PublicKey = publicKey },
                            cancellationToken: stop.Token);
                        outcome = "OK";
                    }
                    catch (RpcException e) when (!stop.IsCancellationRequested)
                    {
                        outcome = e.StatusCode.ToString();
                    }
                    catch (Exception) when (stop.IsCancellationRequested)
                    {
                        break;
                    }
                    answers.AddOrUpdate(outcome, 1, (_, n) => n + 1);
                }
            })).ToList();
            var flooded = await MeasureAsync(authenticated, anonymous, profile.User, password, duration, cancellationToken);
            await stop.CancelAsync();
            await Task.WhenAll(workers);
            foreach (var channel in channels)
            {
                channel.Dispose();
            }
            var label = $"{result.GetValue(flood)}-way flood from {floodSources} address(es)";
            Console.WriteLine(flooded.WhoAmI.Summary($"WhoAmI, {label}", flooded.Wall));
            Console.WriteLine(flooded.Login.Summary($"real login, {label}", flooded.Wall));
            Console.WriteLine($"flood answers in {flooded.Wall.TotalSeconds:F0} s: {string.Join(", ", answers.OrderBy(a => a.Key).Select(a => $"{a.Key} {a.Value}"))}");
            return 0;
        });
        return command;
    }

    private static async Task<(LatencyRecorder WhoAmI, LatencyRecorder Login, TimeSpan Wall)> MeasureAsync(GrpcChannel authenticated, GrpcChannel anonymous,
        string user, string password, TimeSpan duration, CancellationToken cancellationToken)
    {
        var whoAmI = new LatencyRecorder();
        var login = new LatencyRecorder();
        var wall = Stopwatch.StartNew();
        var auth = new AuthService.AuthServiceClient(authenticated);
        var probe = Task.Run(async () =>
        {
            while (wall.Elapsed < duration)
            {
                var timer = Stopwatch.StartNew();
                try
                {
                    await auth.WhoAmIAsync(new WhoAmIRequest(), cancellationToken: cancellationToken);
                    whoAmI.Record(timer.Elapsed);
                }
                catch (RpcException)
                {
                    whoAmI.Fail();
                }
            }
        }, cancellationToken);
        var person = Task.Run(async () =>
        {
            var client = new AuthService.AuthServiceClient(anonymous);
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var request = new LoginRequest { User = user, Password = password, PublicKey = ByteString.CopyFrom(key.ExportSubjectPublicKeyInfo()) };
            while (wall.Elapsed < duration)
            {
                var timer = Stopwatch.StartNew();
                try
                {
                    await Pushback.RetryAsync(async () => await client.LoginAsync(request, cancellationToken: cancellationToken), cancellationToken);
                    login.Record(timer.Elapsed);
                }
                catch (RpcException e)
                {
                    if (login.Fail() <= 3)
                    {
                        Console.Error.WriteLine($"real login: {e.StatusCode} {e.Status.Detail}");
                    }
                }
                await Task.Delay(TimeSpan.FromSeconds(3), cancellationToken);
            }
        }, cancellationToken);
        await Task.WhenAll(probe, person);
        return (whoAmI, login, wall.Elapsed);
    }
}
