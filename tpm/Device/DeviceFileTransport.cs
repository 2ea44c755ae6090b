namespace DeviceTrust.Tpm.Device;

/// <summary>
/// The kernel's TPM resource manager, <c>/dev/tpmrm0</c>: one write of the command, one read of the response.
/// Handles are virtualized per open file, and the kernel flushes them when it is closed.
/// </summary>
public sealed class DeviceFileTransport : ITpmTransport
{
    private readonly FileStream _device;

    public DeviceFileTransport(string path)
    {
        try
        {
            _device = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite, bufferSize: 0);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new TpmDeviceException(
                $"failed to open the TPM device {path}: permission denied; add your user to the tss group or install udev rules like the TPM2 Software Stack's", e);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new TpmDeviceException($"failed to open the TPM device {path}: this machine has no TPM (or its driver is not loaded)", e);
        }
        catch (IOException e)
        {
            throw new TpmDeviceException($"failed to open the TPM device {path}: {e.Message}", e);
        }
    }

    public byte[] Transmit(ReadOnlySpan<byte> command)
    {
        _device.Write(command);
        var buffer = new byte[8192];
        var read = _device.Read(buffer);
        return buffer[..read];
    }

    public void Dispose() => _device.Dispose();
}
