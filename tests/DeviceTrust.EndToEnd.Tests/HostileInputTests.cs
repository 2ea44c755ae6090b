using System.Collections;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using CsCheck;
using DeviceTrust.Client.Connection;
using DeviceTrust.Client.Devices;
using DeviceTrust.Client.Profiles;
using DeviceTrust.Proto.V1;
using DeviceTrust.Testing;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Net.Client;

namespace DeviceTrust.EndToEnd.Tests;

/// <summary>A gateway of its own for hostile input (the fuzzer calls every RPC with whatever it makes up), and its admin.</summary>
public sealed class HostileCluster() : GatewayCluster("dt-e2e-hostile", GatewayProcess.HighLimits);

/// <summary>
/// Odd and hostile input through the real gateway: each gets InvalidArgument (or another refusal) naming what is
/// wrong, no stack trace in the gateway's log, and no change. Then generated requests for every RPC, until nothing
/// reaches Internal.
/// </summary>
public sealed class HostileInputTests(HostileCluster cluster) : IClassFixture<HostileCluster>, IDisposable
{
    private readonly GrpcChannel _admin = GatewayChannel.ForProfile(cluster.AdminProfile);

    public void Dispose() => _admin.Dispose();

    private DeviceTrustService.DeviceTrustServiceClient Devices => new(_admin);

    /// <summary>What the gateway printed while <paramref name="action"/> ran: it must hold no stack trace and no unhandled error.</summary>
    private async Task QuietlyAsync(Func<Task> action)
    {
        var before = cluster.Gateway.Output.Length;
        await action();
        await Task.Delay(200); // the console logger writes from a queue
        var printed = cluster.Gateway.Output[before..];
        Assert.DoesNotContain("Unhandled error", printed);
        Assert.DoesNotContain("Exception was thrown by handler", printed);
        Assert.DoesNotContain("   at ", printed);
    }

    [Theory]
    [InlineData("AB{0}CD")]
    [InlineData("{{}}")]
    [InlineData("100%{x}")]
    public async Task An_asset_tag_with_format_braces_is_an_ordinary_asset_tag(string tag)
    {
        await QuietlyAsync(async () =>
        {
            (await cluster.Admin.Dtctl("devices", "add", "--os", "linux", "--asset-tag", tag)).Succeeded();
            Assert.Contains($"Asset Tag:     {tag}", (await cluster.Admin.Dtctl("devices", "get", "--asset-tag", tag)).Succeeded().StdOut);
            (await cluster.Admin.Dtctl("devices", "add", "--os", "linux", "--asset-tag", tag)).FailedWith($"device {tag}/linux is already in the inventory");
            (await cluster.Admin.Dtctl("devices", "rm", "--asset-tag", tag)).Succeeded();
        });
    }

    [Fact]
    public async Task A_duration_with_nanos_out_of_range_is_refused_with_the_field_named()
    {
        using var anonymous = GatewayChannel.Anonymous(cluster.Gateway.Proxy, cluster.AdminProfile.Ca);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        await QuietlyAsync(async () =>
        {
            var error = await Refusals.Of(() => new AuthService.AuthServiceClient(anonymous).LoginAsync(new LoginRequest
            {
                User = "admin",
                Password = "admin password 1234",
                PublicKey = ByteString.CopyFrom(key.ExportSubjectPublicKeyInfo()),
                Ttl = new Duration { Seconds = 60, Nanos = 2_000_000_000 },
            }).ResponseAsync);
            Refusals.Is(StatusCode.InvalidArgument, "ttl.nanos must be between 0 and 999999999", error);
        });
    }

    [Fact]
    public async Task A_timestamp_out_of_range_is_refused_with_the_field_named()
    {
        await QuietlyAsync(async () =>
        {
            var error = await Refusals.Of(() => new AuditService.AuditServiceClient(_admin).ListAuditEventsAsync(
                new ListAuditEventsRequest { Since = new Timestamp { Seconds = long.MaxValue } }).ResponseAsync);
            Refusals.Is(StatusCode.InvalidArgument, "since is out of range: seconds must be between -62135596800 and 253402300799", error);
            var nanos = await Refusals.Of(() => new AuditService.AuditServiceClient(_admin).ListAuditEventsAsync(
                new ListAuditEventsRequest { Until = new Timestamp { Seconds = 1, Nanos = -1 } }).ResponseAsync);
            Refusals.Is(StatusCode.InvalidArgument, "until.nanos must be between 0 and 999999999", nanos);
        });
    }

    [Fact]
    public async Task A_bad_collect_time_is_refused_before_the_token_is_spent()
    {
        var serial = "HI" + Guid.NewGuid().ToString("N")[..10].ToUpperInvariant();
        var device = await Devices.CreateDeviceAsync(new CreateDeviceRequest { OsType = OSType.Linux, AssetTag = serial, CreateEnrollToken = true });
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var data = new DeviceCollectedData { OsType = OSType.Linux, SerialNumber = serial, OsVersion = "12", CollectTime = new Timestamp { Seconds = -70_000_000_000 } };
        await QuietlyAsync(async () =>
        {
            var error = await Refusals.Of(() => DeviceCeremonies.EnrollAsync(_admin, device.EnrollToken.Token, "cred", key, data, default));
            var reason = "device_data.collect_time is out of range: seconds must be between -62135596800 and 253402300799";
            Refusals.Is(StatusCode.InvalidArgument, reason, error);
            AuditTrail.IsRefusal(await AuditTrail.LastAsync(_admin, "device.enroll", e => e.Message == reason), StatusCode.InvalidArgument, reason);
        });
        // the token was not spent: the same enrollment with a sound time works
        data.CollectTime = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow);
        Assert.Equal(DeviceEnrollStatus.Enrolled, (await DeviceCeremonies.EnrollAsync(_admin, device.EnrollToken.Token, "cred", key, data, default)).EnrollStatus);
    }

    /// <summary>A raw gRPC request over HTTP/2 with a body of the test's choosing, and the status the gateway answers.</summary>
    private async Task<(StatusCode Status, string Message)> RawAsync(string path, byte[] body, bool withCertificate = true)
    {
        var profile = cluster.AdminProfile;
        using var handler = new SocketsHttpHandler();
        handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, _) =>
            certificate is not null && profile.Ca.Issuer == certificate.Issuer;
        if (withCertificate)
        {
            handler.SslOptions.ClientCertificates = [profile.CertificateWithKey()];
        }
        using var client = new HttpClient(handler);
        using var request = new HttpRequestMessage(HttpMethod.Post, $"https://{cluster.Gateway.Proxy}{path}")
        {
            Content = new ByteArrayContent(body),
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
        request.Headers.TryAddWithoutValidation("te", "trailers");
        using var response = await client.SendAsync(request);
        await response.Content.ReadAsByteArrayAsync();
        string? Header(string name) =>
            response.TrailingHeaders.TryGetValues(name, out var trailing) ? trailing.Single()
            : response.Headers.TryGetValues(name, out var leading) ? leading.Single() : null;
        var status = Header("grpc-status") ?? throw new Xunit.Sdk.XunitException($"no grpc-status: HTTP {(int)response.StatusCode}");
        return ((StatusCode)int.Parse(status, System.Globalization.CultureInfo.InvariantCulture), Uri.UnescapeDataString(Header("grpc-message") ?? ""));
    }

    private static byte[] Frame(byte[] message, byte compressed = 0, int? length = null)
    {
        var frame = new byte[5 + message.Length];
        frame[0] = compressed;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), (uint)(length ?? message.Length));
        message.CopyTo(frame, 5);
        return frame;
    }

    [Fact]
    public async Task Malformed_frames_and_messages_get_invalid_argument_not_internal()
    {
        await QuietlyAsync(async () =>
        {
            const string Login = "/devicetrust.v1.AuthService/Login";
            var (status, message) = await RawAsync(Login, Frame([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]), withCertificate: false);
            Assert.Equal(StatusCode.InvalidArgument, status);
            Assert.StartsWith("the request is not a valid Login message: ", message);
            Assert.Equal((StatusCode.InvalidArgument, "the request message is truncated"), await RawAsync(Login, Frame([0x0a, 0x01], length: 40), withCertificate: false));
            Assert.Equal((StatusCode.InvalidArgument, "the request carries data after its message"), await RawAsync(Login, [.. Frame([]), 0x00], withCertificate: false));
            Assert.Equal((StatusCode.InvalidArgument, "compressed request messages are not accepted: send them uncompressed"),
                await RawAsync(Login, Frame([0x1f, 0x8b], compressed: 1), withCertificate: false));
            Assert.Equal((StatusCode.InvalidArgument, "the request is not a gRPC message: the frame header is incomplete"), await RawAsync(Login, [0x00, 0x00], withCertificate: false));
            var malformed = await AuditTrail.LastAsync(_admin, "request.malformed", e => e.Message.EndsWith("the request message is truncated", StringComparison.Ordinal));
            AuditTrail.IsRefusal(malformed, StatusCode.InvalidArgument, "/devicetrust.v1.AuthService/Login: the request message is truncated");
            // a streamed message is read by the ceremony: the same refusal, and the ceremony's audit event says why
            var (streamStatus, streamMessage) = await RawAsync("/devicetrust.v1.DeviceTrustService/EnrollDevice", Frame([0x0a, 0x05, 0x01]));
            Assert.Equal(StatusCode.InvalidArgument, streamStatus);
            Assert.StartsWith("a request message is malformed: ", streamMessage);
            AuditTrail.IsRefusal(await AuditTrail.LastAsync(_admin, "device.enroll", e => e.Message == streamMessage), StatusCode.InvalidArgument, streamMessage);
        });
    }

    // ---- generated requests for every RPC ----------------------------------------------------------------------

    private static readonly FileDescriptor[] Contract =
        [AuthReflection.Descriptor, AdminReflection.Descriptor, DevicesReflection.Descriptor, AuditReflection.Descriptor, AccessReflection.Descriptor];

    // Never the name of the account the fuzzer calls with: it holds every verb, and an UpdateUser or ResetUser of
    // itself would lock the rest of the class out.
    private static readonly string[] HostileText =
    [
        "", "alice", "{0}", "{{}}", "%s%n", "a\nb", "\0", "\u202e", "../../etc/passwd", new string('x', 300), new string('é', 70), "\ud800",
        "linux", "required", "off", "user.*", "*", "00000000-0000-0000-0000-000000000000", "3f2c7a4e-1b2c-4d3e-8f90-a1b2c3d4e5f6", "sha256:00",
        "dtinv1.YWRtaW4K", "kind: role\nmetadata: {name: x}", "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----",
    ];

    private static readonly long[] HostileNumbers = [0, 1, -1, 7, 24, 255, 1001, int.MaxValue, int.MinValue, long.MaxValue, long.MinValue, 253_402_300_800, -62_135_596_801];

    /// <summary>A message of type <paramref name="type"/> with every field left out or filled with something hostile, nested a few levels.</summary>
    private static IMessage Make(MessageDescriptor type, Random random, int depth)
    {
        var message = type.Parser.ParseFrom(ByteString.Empty);
        foreach (var field in type.Fields.InFieldNumberOrder())
        {
            if (random.Next(3) == 0 || (field.FieldType == FieldType.Message && depth > 3))
            {
                continue;
            }
            if (field.IsMap)
            {
                var map = (IDictionary)field.Accessor.GetValue(message);
                var (key, value) = (field.MessageType.FindFieldByNumber(1), field.MessageType.FindFieldByNumber(2));
                for (var i = random.Next(70 * (random.Next(8) == 0 ? 1 : 0) + 4); i > 0; i--)
                {
                    map[Value(key, random, depth)] = Value(value, random, depth);
                }
            }
            else if (field.IsRepeated)
            {
                var list = (IList)field.Accessor.GetValue(message);
                for (var i = random.Next(4); i > 0; i--)
                {
                    list.Add(Value(field, random, depth));
                }
            }
            else
            {
                field.Accessor.SetValue(message, Value(field, random, depth));
            }
        }
        return message;
    }

    private static object Value(FieldDescriptor field, Random random, int depth) => field.FieldType switch
    {
        FieldType.String => HostileText[random.Next(HostileText.Length)],
        FieldType.Bytes => ByteString.CopyFrom(RandomBytes(random)),
        FieldType.Bool => random.Next(2) == 0,
        FieldType.Int32 or FieldType.SInt32 or FieldType.SFixed32 => (int)HostileNumbers[random.Next(HostileNumbers.Length)],
        FieldType.Int64 or FieldType.SInt64 or FieldType.SFixed64 => HostileNumbers[random.Next(HostileNumbers.Length)],
        FieldType.UInt32 or FieldType.Fixed32 => unchecked((uint)HostileNumbers[random.Next(HostileNumbers.Length)]),
        FieldType.UInt64 or FieldType.Fixed64 => unchecked((ulong)HostileNumbers[random.Next(HostileNumbers.Length)]),
        FieldType.Enum => System.Enum.ToObject(field.EnumType.ClrType, random.Next(-1, 6)),
        FieldType.Message => Make(field.MessageType, random, depth + 1),
        _ => throw new InvalidOperationException($"no generator for {field.FieldType}"),
    };

    private static byte[] RandomBytes(Random random)
    {
        var bytes = new byte[random.Next(4) switch { 0 => 0, 1 => random.Next(1, 40), 2 => 91, _ => random.Next(300, 5000) }];
        random.NextBytes(bytes);
        if (bytes.Length == 91)
        {
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            return key.ExportSubjectPublicKeyInfo(); // a valid key now and then, so validation goes deeper
        }
        return bytes;
    }

    private static Method<IMessage, IMessage> MethodOf(MethodDescriptor method) =>
        new(method.IsClientStreaming ? (method.IsServerStreaming ? MethodType.DuplexStreaming : MethodType.ClientStreaming) : MethodType.Unary,
            method.Service.FullName, method.Name,
            Marshallers.Create<IMessage>(m => m.ToByteArray(), bytes => method.InputType.Parser.ParseFrom(bytes)),
            Marshallers.Create<IMessage>(m => m.ToByteArray(), bytes => method.OutputType.Parser.ParseFrom(bytes)));

    private static readonly StatusCode[] Allowed =
    [
        StatusCode.OK, StatusCode.InvalidArgument, StatusCode.NotFound, StatusCode.AlreadyExists, StatusCode.PermissionDenied,
        StatusCode.FailedPrecondition, StatusCode.Unauthenticated, StatusCode.ResourceExhausted,
    ];

    [Fact]
    public async Task Generated_requests_for_every_rpc_never_reach_internal()
    {
        var methods = Contract.SelectMany(f => f.Services).SelectMany(s => s.Methods).ToList();
        Assert.True(methods.Count >= 25, $"only {methods.Count} RPCs found");
        var invoker = _admin.CreateCallInvoker();
        var seen = new Dictionary<string, HashSet<StatusCode>>();
        await QuietlyAsync(async () =>
        {
            await Gen.Int.SampleAsync(async seed =>
            {
                var random = new Random(seed);
                var method = methods[random.Next(methods.Count)];
                var status = await CallAsync(invoker, method, random);
                lock (seen)
                {
                    (seen.TryGetValue(method.FullName, out var set) ? set : seen[method.FullName] = []).Add(status);
                }
                Assert.True(Allowed.Contains(status), $"{method.FullName} answered {status} (seed {seed})");
            }, iter: 600, threads: 4);
        });
        // every RPC was tried and refused at least once: the generator reached them all
        Assert.Equal(methods.Count, seen.Count);
    }

    private static async Task<StatusCode> CallAsync(CallInvoker invoker, MethodDescriptor method, Random random)
    {
        var options = new CallOptions(deadline: DateTime.UtcNow.AddSeconds(30));
        try
        {
            if (!method.IsClientStreaming)
            {
                await invoker.AsyncUnaryCall(MethodOf(method), null, options, Make(method.InputType, random, 0));
                return StatusCode.OK;
            }
            using var call = invoker.AsyncDuplexStreamingCall(MethodOf(method), null, options);
            try
            {
                for (var i = random.Next(1, 4); i > 0; i--)
                {
                    await call.RequestStream.WriteAsync(Make(method.InputType, random, 0));
                }
                await call.RequestStream.CompleteAsync();
            }
            catch (Exception e) when (e is RpcException or InvalidOperationException)
            {
                // The gateway answered (refused) before all messages were written. A write that races the end of the
                // call can fail as Cancelled (grpc-dotnet reports the call's status only when it already has it):
                // what counts is the status the gateway sent, read below.
            }
            while (await call.ResponseStream.MoveNext(default))
            {
            }
            return StatusCode.OK;
        }
        catch (RpcException e)
        {
            return e.StatusCode;
        }
    }
}
