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
}
