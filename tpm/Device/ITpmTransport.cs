namespace DeviceTrust.Tpm.Device;

/// <summary>Sends one TPM command buffer and returns the whole response buffer.</summary>
public interface ITpmTransport : IDisposable
{
    byte[] Transmit(ReadOnlySpan<byte> command);
}
