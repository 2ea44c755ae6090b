using System.Diagnostics;
using System.Globalization;

namespace DeviceTrust.Testing;

/// <summary>
/// Ties a child process (a gateway, a silo, a swtpm) to the lifetime of the test host: a small watchdog in its own
/// session polls both and stops the child (TERM, then KILL) as soon as the test host is gone, so a crashed or killed
/// test run leaves nothing listening. The watchdog ends by itself when the child ends first.
/// </summary>
public static class ChildProcessGuard
{
    private const string Script =
        """
        host=$1 child=$2
        while kill -0 "$host" 2>/dev/null && kill -0 "$child" 2>/dev/null; do sleep 1; done
        kill -0 "$child" 2>/dev/null || exit 0
        kill -TERM "$child" 2>/dev/null
        for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$child" 2>/dev/null || exit 0; sleep 0.5; done
        kill -KILL "$child" 2>/dev/null
        """;

    public static void Watch(int childPid)
    {
        var info = new ProcessStartInfo("setsid")
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in new[] { "bash", "-c", Script, "dt-child-guard",
                     Environment.ProcessId.ToString(CultureInfo.InvariantCulture), childPid.ToString(CultureInfo.InvariantCulture) })
        {
            info.ArgumentList.Add(argument);
        }
        using var watchdog = Process.Start(info) ?? throw new InvalidOperationException("could not start the child process watchdog");
        watchdog.StandardInput.Close();
    }
}
