using System.CommandLine;
using System.Net.Sockets;
using System.Text;

namespace DeviceTrust.Cli.Dtnode;

/// <summary>
/// <c>dtnode authorize-principals --socket PATH %u %t %k</c>: what sshd runs (as its AuthorizedPrincipalsCommandUser)
/// for a login with a certificate. Prints the certificate principal that may log in, or nothing; sshd lets the user
/// in only when a line matches. Any failure (no agent, timeout, garbage) prints nothing, so it fails closed. It is
/// kept small: sshd waits for it twice per login, and nothing here touches the network beyond the local socket.
/// </summary>
public static class AuthorizePrincipalsCommand
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(2);

    public static Command Create()
    {
        var socket = new Option<string>("--socket") { Description = "The agent's socket", DefaultValueFactory = _ => JoinCommand.DefaultSocket };
        var login = new Argument<string>("login") { Description = "sshd's %u" };
        var type = new Argument<string>("type") { Description = "sshd's %t" };
        var certificate = new Argument<string>("certificate") { Description = "sshd's %k" };
        var command = new Command("authorize-principals", "For sshd's AuthorizedPrincipalsCommand: print who may log in") { socket, login, type, certificate };
        command.SetAction(async (result, cancellationToken) =>
        {
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(Timeout);
                var (principal, reason) = await AskAsync(result.GetValue(socket)!,
                    PrincipalsProtocol.Ask(result.GetValue(login)!, result.GetValue(type)!, result.GetValue(certificate)!), timeout.Token);
                if (principal is not null)
                {
                    Console.Out.Write(principal + "\n");
                    return 0;
                }
                Console.Error.WriteLine($"dtnode: {result.GetValue(login)} denied: {reason}");
                return 0;
            }
            catch (Exception e) when (e is SocketException or IOException or OperationCanceledException)
            {
                Console.Error.WriteLine($"dtnode: {result.GetValue(login)} denied: the node agent did not answer ({e.GetType().Name}): is dtnode serve running?");
                return 1;
            }
        });
        return command;
    }

    private static async Task<(string? Principal, string Reason)> AskAsync(string path, string question, CancellationToken cancellationToken)
    {
        if (Encoding.UTF8.GetByteCount(question) > PrincipalsProtocol.MaxLine)
        {
            return (null, "the certificate is too large");
        }
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), cancellationToken);
        await socket.SendAsync(Encoding.UTF8.GetBytes(question), SocketFlags.None, cancellationToken);
        var buffer = new byte[4096];
        var filled = 0;
        while (filled < buffer.Length)
        {
            var read = await socket.ReceiveAsync(buffer.AsMemory(filled), SocketFlags.None, cancellationToken);
            if (read == 0)
            {
                break;
            }
            filled += read;
            var newline = Array.IndexOf(buffer, (byte)'\n', 0, filled);
            if (newline >= 0)
            {
                return PrincipalsProtocol.ReadAnswer(Encoding.UTF8.GetString(buffer, 0, newline));
            }
        }
        return PrincipalsProtocol.ReadAnswer(null);
    }
}
