using System.CommandLine;
using System.Security.Cryptography;
using DeviceTrust.Client.Connection;
using DeviceTrust.Proto.V1;
using Google.Protobuf;

namespace DeviceTrust.LoadTest;

/// <summary>
/// <c>login</c>: password logins over one HTTP/2 connection, each with a freshly generated P-256 key, as dtsh does.
/// The password is read from DT_PASSWORD or standard input.
/// </summary>
public static class LoginScenario
{
    public static Command Create()
    {
        var proxy = new Option<string>("--proxy") { Required = true, Description = "Gateway host:port" };
        var pin = new Option<string>("--ca-pin") { Required = true, Description = "Cluster CA pin (sha256:…)" };
        var user = new Option<string>("--user") { Required = true };
        var count = new Option<int>("--count") { DefaultValueFactory = _ => 200 };
        var concurrency = new Option<int>("--concurrency") { DefaultValueFactory = _ => 1 };
        var command = new Command("login", "Measure password login latency") { proxy, pin, user, count, concurrency };
        command.SetAction(async (result, cancellationToken) =>
        {
            var password = Environment.GetEnvironmentVariable("DT_PASSWORD") ?? Console.In.ReadLine() ?? "";
            var address = result.GetValue(proxy)!;
            var ca = await CaDiscovery.FetchPinnedAsync(address, result.GetValue(pin)!, cancellationToken);
            using var channel = GatewayChannel.Anonymous(address, ca);
            var client = new AuthService.AuthServiceClient(channel);
            var name = result.GetValue(user)!;
            // one call to open the connection, not measured
            await client.GetClusterInfoAsync(new GetClusterInfoRequest(), cancellationToken: cancellationToken);
            var recorder = new LatencyRecorder();
            var wall = await LatencyRecorder.RunAsync(result.GetValue(count), result.GetValue(concurrency), recorder, async _ =>
            {
                using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
                await client.LoginAsync(new LoginRequest
                {
                    User = name,
                    Password = password,
                    PublicKey = ByteString.CopyFrom(key.ExportSubjectPublicKeyInfo()),
                }, cancellationToken: cancellationToken);
            });
            Console.WriteLine(recorder.Summary($"login (concurrency {result.GetValue(concurrency)})", wall));
            return 0;
        });
        return command;
    }
}
