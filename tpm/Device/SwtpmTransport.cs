using System.Buffers.Binary;
using System.Net.Sockets;

namespace DeviceTrust.Tpm.Device;

/// <summary>
/// swtpm's TCP data port: the raw command goes out, the response comes back with its size in its header. swtpm
/// serves one connection at a time, so keep one open only while talking to it.
/// </summary>
public sealed class SwtpmTransport : ITpmTransport
{
    private readonly TcpClient _client;
    private readonly NetworkStream _stream;

    public SwtpmTransport(string host, int port)
    {
        _client = new TcpClient { NoDelay = true };
        try
        {
            _client.Connect(host, port);
        }
        catch (SocketException e)
        {
            _client.Dispose();
            throw new TpmDeviceException($"cannot reach the software TPM at {host}:{port}: {e.Message}", e);
        }
        _stream = _client.GetStream();
        _stream.ReadTimeout = 120_000;
    }

    public byte[] Transmit(ReadOnlySpan<byte> command)
    {
        _stream.Write(command);
        var header = new byte[10];
        _stream.ReadExactly(header);
        var size = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(2));
        if (size is < 10 or > 65536)
        {
            throw new TpmDeviceException($"the TPM answered with an impossible response size {size}");
        }
        var response = new byte[size];
        header.CopyTo(response, 0);
        _stream.ReadExactly(response.AsSpan(10));
        return response;
    }

    public void Dispose()
    {
        _stream.Dispose();
        _client.Dispose();
    }
}
