namespace DeviceTrust.Tpm.Device;

/// <summary>
/// Opens the TPM a spec names, in the spirit of TPM2TOOLS_TCTI: <c>swtpm:host=127.0.0.1,port=2321</c>,
/// <c>device:/dev/tpmrm0</c>, or nothing for the default device.
/// </summary>
public static class TpmTransports
{
    public const string DefaultDevice = "/dev/tpmrm0";

    public static ITpmTransport Open(string? spec)
    {
        if (string.IsNullOrEmpty(spec))
        {
            return new DeviceFileTransport(DefaultDevice);
        }
        var colon = spec.IndexOf(':', StringComparison.Ordinal);
        var kind = colon < 0 ? spec : spec[..colon];
        var options = colon < 0 ? "" : spec[(colon + 1)..];
        switch (kind)
        {
            case "device":
                return new DeviceFileTransport(options.Length > 0 ? options : DefaultDevice);
            case "swtpm" or "mssim":
                {
                    var values = options.Split(',', StringSplitOptions.RemoveEmptyEntries)
                        .Select(p => p.Split('=', 2))
                        .ToDictionary(p => p[0], p => p.Length > 1 ? p[1] : "", StringComparer.Ordinal);
                    var host = values.GetValueOrDefault("host", "127.0.0.1");
                    return int.TryParse(values.GetValueOrDefault("port", "2321"), out var port) && port is > 0 and < 65535
                        ? new SwtpmTransport(host, port)
                        : throw new TpmDeviceException($"TPM spec \"{spec}\": port must be a number");
                }
            default:
                throw new TpmDeviceException($"unknown TPM spec \"{spec}\": use swtpm:host=H,port=P or device:/dev/tpmrm0");
        }
    }
}
