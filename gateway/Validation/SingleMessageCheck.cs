using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using DeviceTrust.Core.Users;
using Google.Protobuf;
using Grpc.AspNetCore.Server;
using Grpc.Core;

namespace DeviceTrust.Gateway.Validation;

/// <summary>
/// Grpc.AspNetCore reads and parses the one request message of a unary or server-streaming call before any
/// interceptor runs, and answers a malformed one with <c>Unknown</c> and an error log carrying a stack trace. This
/// middleware checks such a request first: one gRPC frame, uncompressed, nothing after it, a message that parses
/// (protobuf's own recursion limit bounds nesting). A bad one is answered here with <c>InvalidArgument</c> (or
/// <c>ResourceExhausted</c> when too large) and never reaches the service. Streamed messages are read by the
/// handlers, under the interceptor, which maps the same failures.
/// </summary>
public sealed class SingleMessageCheck(RequestDelegate next, int maxMessageBytes, Audit.SampledAudit refusals, ILogger<SingleMessageCheck> log)
{
    private const int HeaderBytes = 5;
    private static readonly ConcurrentDictionary<IMethod, MessageParser> Parsers = new();

    public async Task InvokeAsync(HttpContext context)
    {
        if (context.GetEndpoint()?.Metadata.GetMetadata<GrpcMethodMetadata>() is not { } grpc
            || grpc.Method.Type is not (MethodType.Unary or MethodType.ServerStreaming))
        {
            await next(context);
            return;
        }
        var (body, tooLarge) = await ReadBodyAsync(context.Request.BodyReader, maxMessageBytes + HeaderBytes, context.RequestAborted);
        var problem = tooLarge ? (StatusCode.ResourceExhausted, $"the request message is larger than {maxMessageBytes} bytes") : Check(grpc.Method, body);
        if (problem is { } refusal)
        {
            log.LogInformation("Refused a malformed {Method} request from {Peer}: {Reason}", grpc.Method.FullName,
                context.Connection.RemoteIpAddress, refusal.Item2);
            await refusals.RecordAsync(Core.Audit.AuditCodes.MalformedRequest, Audit.ClientAddress.Text(context.Connection.RemoteIpAddress),
                context.Connection.ClientCertificate is { } certificate ? Core.Certificates.CertificateAuthority.UserOf(certificate) ?? "" : "",
                refusal.Item1, $"{grpc.Method.FullName}: {refusal.Item2}");
            await RefuseAsync(context, refusal.Item1, refusal.Item2);
            return;
        }
        context.Request.Body = new MemoryStream(body, writable: false);
        await next(context);
    }

    /// <summary>What is wrong with the framed request, or null when it is one well-formed message.</summary>
    public static (StatusCode, string)? Check(IMethod method, ReadOnlySpan<byte> body)
    {
        if (body.Length < HeaderBytes)
        {
            return (StatusCode.InvalidArgument, "the request is not a gRPC message: the frame header is incomplete");
        }
        if (body[0] != 0)
        {
            return (StatusCode.InvalidArgument, body[0] == 1
                ? "compressed request messages are not accepted: send them uncompressed"
                : $"the request frame has an invalid compressed flag {body[0]}");
        }
        var length = BinaryPrimitives.ReadUInt32BigEndian(body[1..HeaderBytes]);
        if (length != body.Length - HeaderBytes)
        {
            return (StatusCode.InvalidArgument, length > body.Length - HeaderBytes
                ? "the request message is truncated"
                : "the request carries data after its message");
        }
        try
        {
            Parsers.GetOrAdd(method, ParserOf).ParseFrom(body[HeaderBytes..]);
            return null;
        }
        catch (InvalidProtocolBufferException e)
        {
            return (StatusCode.InvalidArgument, $"the request is not a valid {method.Name} message: {UserName.Printable(e.Message)}");
        }
    }

    private static MessageParser ParserOf(IMethod method)
    {
        var requestType = method.GetType().GetGenericArguments()[0];
        return requestType.GetProperty("Parser")?.GetValue(null) as MessageParser
               ?? throw new InvalidOperationException($"{requestType} has no protobuf parser");
    }

    private static async Task<(byte[] Body, bool TooLarge)> ReadBodyAsync(System.IO.Pipelines.PipeReader reader, int limit, CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await reader.ReadAsync(cancellationToken);
            if (result.Buffer.Length > limit)
            {
                reader.AdvanceTo(result.Buffer.Start, result.Buffer.End);
                return ([], true);
            }
            if (result.IsCompleted || result.IsCanceled)
            {
                var body = result.Buffer.ToArray();
                reader.AdvanceTo(result.Buffer.End);
                return (body, false);
            }
            reader.AdvanceTo(result.Buffer.Start, result.Buffer.End);
        }
    }

    /// <summary>A trailers-only gRPC answer (the status in the response headers), as gRPC allows for a call that fails at once.</summary>
    private static async Task RefuseAsync(HttpContext context, StatusCode status, string message)
    {
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "application/grpc";
        context.Response.Headers["grpc-status"] = ((int)status).ToString(System.Globalization.CultureInfo.InvariantCulture);
        context.Response.Headers["grpc-message"] = Uri.EscapeDataString(message);
        await context.Response.CompleteAsync();
    }
}
