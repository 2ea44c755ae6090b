using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using DeviceTrust.Client.Connection;
using DeviceTrust.Core.Ssh;
using DeviceTrust.Proto.V1;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;

namespace DeviceTrust.Cli.Dtnode;

/// <summary>
/// The node agent. For each question from sshd's principals command it checks the certificate's shape, asks the
/// cluster with the node's credential (bounded by <see cref="CallTimeout"/>), and answers allow or deny; any failure
/// is a deny. Answers the cluster gave are reused for a second or so, because sshd asks twice per login (once before
/// the client proves it holds the key, once after). Only root and the configured principals user may connect.
/// </summary>
public sealed class NodeAgent : IAsyncDisposable
{
    public static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(1.5);
    private const int MaxConcurrent = 64;

    private readonly NodeConfig _config;
    private readonly NodeTrustFiles _files;
    private GrpcChannel _channel;
    private volatile NodeService.NodeServiceClient _nodes;
    private readonly Socket _listener;
    private readonly HashSet<uint> _allowedUids;
    private readonly TimeSpan _cacheTtl;
    private readonly ConcurrentDictionary<(string Fingerprint, string Login), (string Answer, DateTimeOffset Until)> _answers = new();
    private readonly SemaphoreSlim _slots = new(MaxConcurrent);

    private NodeAgent(NodeConfig config, NodeTrustFiles files, GrpcChannel channel, Socket listener, HashSet<uint> allowedUids, TimeSpan cacheTtl)
    {
        _config = config;
        _files = files;
        _channel = channel;
        _nodes = new NodeService.NodeServiceClient(channel);
        _listener = listener;
        _allowedUids = allowedUids;
        _cacheTtl = cacheTtl;
    }

    public static NodeAgent Start(string dataDir, TimeSpan cacheTtl)
    {
        var config = NodeConfig.Load(dataDir);
        var files = new NodeTrustFiles(dataDir, config);
        var channel = files.OpenChannel();
        var uids = new HashSet<uint> { 0, PeerCredentials.UidOf(config.PrincipalsUser) };
        var listener = Listen(config.Socket);
        Log($"node {config.NodeName} of cluster {config.ClusterName}: answering sshd on {config.Socket} (users {string.Join(", ", uids)}), cluster at {config.Proxy}");
        return new NodeAgent(config, files, channel, listener, uids, cacheTtl);
    }

    private static Socket Listen(string path)
    {
        var directory = Path.GetDirectoryName(path)!;
        Directory.CreateDirectory(directory);
        if (File.Exists(path))
        {
            File.Delete(path);
        }
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(path));
        // Anyone may connect; who is asking is checked per connection (SO_PEERCRED), since sshd's command user varies.
        File.SetUnixFileMode(path, (UnixFileMode)0b110_110_110);
        socket.Listen(128);
        return socket;
    }

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var heartbeat = HeartbeatAsync(cancellationToken);
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                var connection = await _listener.AcceptAsync(cancellationToken);
                _ = Task.Run(() => HandleAsync(connection, cancellationToken), CancellationToken.None);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        await heartbeat;
    }

    private async Task HandleAsync(Socket connection, CancellationToken cancellationToken)
    {
        using (connection)
        {
            if (!await _slots.WaitAsync(0, cancellationToken))
            {
                await ReplyAsync(connection, PrincipalsProtocol.Deny("the node agent is busy"));
                return;
            }
            try
            {
                var uid = PeerCredentials.UidOf(connection);
                if (uid is not { } known || !_allowedUids.Contains(known))
                {
                    Log($"refused a connection from uid {uid?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "?"}: only root and {_config.PrincipalsUser} may ask");
                    return;
                }
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(TimeSpan.FromSeconds(3));
                var line = await ReadLineAsync(connection, timeout.Token);
                await ReplyAsync(connection, line is null ? PrincipalsProtocol.Deny("no question") : await AnswerAsync(line, timeout.Token));
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException or IOException)
            {
                // the command gave up (sshd's LoginGraceTime) or went away: nothing to answer
            }
            finally
            {
                _slots.Release();
            }
        }
    }

    /// <summary>The answer to one question: allow with the principal sshd should accept, or deny with why.</summary>
    public async Task<string> AnswerAsync(string line, CancellationToken cancellationToken)
    {
        PrincipalsProtocol.Question question;
        SshCertificate certificate;
        try
        {
            question = PrincipalsProtocol.Parse(line);
            certificate = SshCertificate.Parse(question.Certificate);
        }
        catch (Exception e) when (e is FormatException)
        {
            return PrincipalsProtocol.Deny("malformed question: " + e.Message);
        }
        var key = (certificate.Fingerprint, question.Login);
        var now = DateTimeOffset.UtcNow;
        if (_answers.TryGetValue(key, out var cached) && now < cached.Until)
        {
            return cached.Answer;
        }
        string answer;
        try
        {
            var response = await _nodes.AuthorizeSshAsync(
                new AuthorizeSshRequest { Certificate = ByteString.CopyFrom(question.Certificate), Login = question.Login },
                deadline: DateTime.UtcNow + CallTimeout, cancellationToken: cancellationToken);
            answer = response.Allowed && response.Principal.Length > 0
                ? PrincipalsProtocol.Allow(response.Principal)
                : PrincipalsProtocol.Deny(string.Join("; ", response.Reasons));
            Log($"{(response.Allowed ? "allowed" : "denied")} {question.Login} for {response.User} ({certificate.Fingerprint})" +
                (response.Allowed ? "" : ": " + string.Join("; ", response.Reasons)));
        }
        catch (RpcException e)
        {
            // Fail closed, and do not remember it: the next login asks again.
            Log($"denied {question.Login} ({certificate.Fingerprint}): the cluster did not answer: {e.Status.StatusCode} {e.Status.Detail}");
            return PrincipalsProtocol.Deny($"the cluster did not answer ({e.Status.StatusCode})");
        }
        if (_answers.Count > 10_000)
        {
            _answers.Clear();
        }
        _answers[key] = (answer, now + _cacheTtl);
        return answer;
    }

    private async Task HeartbeatAsync(CancellationToken cancellationToken)
    {
        var interval = TimeSpan.FromSeconds(30);
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                var response = await _nodes.HeartbeatAsync(_files.HeartbeatRequest(), deadline: DateTime.UtcNow.AddSeconds(10), cancellationToken: cancellationToken);
                if (response.Interval is { } next && next.ToTimeSpan() is var span && span >= TimeSpan.FromSeconds(1) && span <= TimeSpan.FromMinutes(10))
                {
                    interval = span;
                }
                var (changes, reconnect) = _files.Apply(response);
                foreach (var change in changes)
                {
                    Log(change);
                }
                if (reconnect)
                {
                    // New calls go on a channel with the new trust and credential; calls in flight finish on the old one.
                    var old = _channel;
                    _channel = _files.OpenChannel();
                    _nodes = new NodeService.NodeServiceClient(_channel);
                    _ = Task.Delay(TimeSpan.FromSeconds(30), CancellationToken.None).ContinueWith(_ => old.Dispose(), TaskScheduler.Default);
                }
            }
            catch (RpcException e)
            {
                Log($"heartbeat failed: {e.Status.StatusCode} {e.Status.Detail}");
            }
            catch (Exception e) when (e is IOException or InvalidDataException or FormatException or SshFormatException
                                          or CryptographicException or UnauthorizedAccessException)
            {
                Log($"could not apply the cluster's trust update: {e.Message}");
            }
            try
            {
                await Task.Delay(interval, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private static async Task<string?> ReadLineAsync(Socket connection, CancellationToken cancellationToken)
    {
        var buffer = new byte[PrincipalsProtocol.MaxLine + 1];
        var filled = 0;
        while (filled < buffer.Length)
        {
            var read = await connection.ReceiveAsync(buffer.AsMemory(filled), SocketFlags.None, cancellationToken);
            if (read == 0)
            {
                break;
            }
            var newline = Array.IndexOf(buffer, (byte)'\n', filled, read);
            filled += read;
            if (newline >= 0)
            {
                return Encoding.UTF8.GetString(buffer, 0, newline);
            }
        }
        return null;
    }

    private static async Task ReplyAsync(Socket connection, string answer) =>
        await connection.SendAsync(Encoding.UTF8.GetBytes(answer), SocketFlags.None);

    private static void Log(string message) => Console.Error.WriteLine($"{DateTimeOffset.UtcNow:yyyy-MM-ddTHH:mm:ss.fffZ} dtnode: {message}");

    public async ValueTask DisposeAsync()
    {
        _listener.Dispose();
        try
        {
            File.Delete(_config.Socket);
        }
        catch (IOException)
        {
        }
        _channel.Dispose();
        _slots.Dispose();
        await Task.CompletedTask;
    }
}
