using DeviceTrust.Core.Errors;
using Grpc.Core;

namespace DeviceTrust.Client.Output;

/// <summary>How both CLIs end a command: errors on stderr as one actionable line, exit code 1.</summary>
public static class CliRunner
{
    public static async Task<int> RunAsync(Func<Task<int>> command)
    {
        try
        {
            return await command();
        }
        catch (DeviceTrustException e)
        {
            return Fail(e.Message);
        }
        catch (Tpm.Device.TpmDeviceException e)
        {
            return Fail(e.Message);
        }
        catch (RpcException e) when (e.StatusCode is StatusCode.Unavailable or StatusCode.Internal && IsUntrustedServer(e.Status.DebugException))
        {
            return Fail("the gateway's TLS certificate is not from a cluster CA you trust. If the cluster's CA was rotated while you were away, "
                        + "log in again with the new pin: dtsh login --ca-pin sha256:… (an administrator has it from dtctl cluster ca); "
                        + "otherwise someone may be impersonating the gateway.");
        }
        catch (RpcException e) when (e.StatusCode is StatusCode.Unavailable or StatusCode.Internal && e.Status.DebugException is not null)
        {
            return Fail($"cannot talk to the gateway: {Innermost(e.Status.DebugException)}. " +
                        "If the gateway is running, your certificate may have expired or been rejected: run dtsh login.");
        }
        catch (RpcException e)
        {
            return Fail(e.Status.Detail);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException or System.Security.Cryptography.CryptographicException)
        {
            return Fail(e.Message);
        }
    }

    public static int Fail(string message)
    {
        Console.Error.WriteLine($"ERROR: {message}");
        return 1;
    }

    private static string Innermost(Exception e)
    {
        while (e.InnerException is not null)
        {
            e = e.InnerException;
        }
        return e.Message.TrimEnd('.');
    }

    /// <summary>Whether a connection failed because the server's certificate did not chain to a CA we trust (not a network failure).</summary>
    private static bool IsUntrustedServer(Exception? e)
    {
        for (; e is not null; e = e.InnerException)
        {
            if (e is System.Security.Authentication.AuthenticationException { Message: var message }
                && message.Contains("remote certificate", StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }
        return false;
    }
}
