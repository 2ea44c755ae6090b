using System.Net.Sockets;

namespace DeviceTrust.Testing;

/// <summary>
/// A private nginx (Debian's package) in the foreground, with a configuration the test writes into its own folder;
/// the system nginx is left alone. <see cref="StartAsync"/> checks the configuration first (nginx -t).
/// </summary>
public sealed class NginxServer : IAsyncDisposable
{
    public const string Nginx = "/usr/sbin/nginx";
    private readonly TempDirectory _directory = new("dt-nginx");
    private BackgroundProcess? _process;

    public string Directory => _directory.Path;
    public string this[string relative] => _directory[relative];
    public string Log => _process?.Output ?? "";

    /// <summary>The top of every configuration: foreground, one worker, logs to stderr, temporary files in the folder.</summary>
    public string Preamble =>
        $$"""
          daemon off;
          master_process on;
          worker_processes 1;
          pid {{_directory["nginx.pid"]}};
          error_log stderr notice;
          events { worker_connections 512; }
          """;

    public string HttpPreamble =>
        $"""
         access_log off;
         client_body_temp_path {_directory["client_body"]};
         proxy_temp_path {_directory["proxy"]};
         fastcgi_temp_path {_directory["fastcgi"]};
         uwsgi_temp_path {_directory["uwsgi"]};
         scgi_temp_path {_directory["scgi"]};
         """;

    public async Task StartAsync(string configuration, params int[] ports)
    {
        if (!File.Exists(Nginx))
        {
            throw new InvalidOperationException($"{Nginx} is not installed: apt-get install nginx");
        }
        var path = _directory["nginx.conf"];
        await File.WriteAllTextAsync(path, configuration);
        var check = await ProcessRunner.RunAsync(Nginx, ["-t", "-q", "-p", Directory, "-c", path]);
        if (check.ExitCode != 0)
        {
            throw new InvalidOperationException($"nginx -t refused the configuration: {check}\n{configuration}");
        }
        _process = BackgroundProcess.Start(Nginx, ["-p", Directory, "-c", path]);
        foreach (var port in ports)
        {
            await _process.WaitUntilAsync(async () =>
            {
                using var client = new TcpClient();
                try
                {
                    await client.ConnectAsync("127.0.0.1", port);
                    return true;
                }
                catch (SocketException)
                {
                    return false;
                }
            }, "nginx");
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is not null)
        {
            await _process.DisposeAsync();
        }
        _directory.Dispose();
    }
}
