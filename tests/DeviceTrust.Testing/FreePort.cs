using System.Net;
using System.Net.Sockets;

namespace DeviceTrust.Testing;

public static class FreePort
{
    private static readonly HashSet<int> Given = [];

    /// <summary>
    /// A loopback TCP port nobody listens on right now, and never one this test process was given before: the
    /// system hands a released port out again at once, so two calls in a row could name the same port (a silo's
    /// silo port and client port, once).
    /// </summary>
    public static int Next()
    {
        while (true)
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            lock (Given)
            {
                if (Given.Add(port))
                {
                    return port;
                }
            }
        }
    }
}
