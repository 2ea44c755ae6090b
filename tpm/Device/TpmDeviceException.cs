namespace DeviceTrust.Tpm.Device;

/// <summary>A TPM command failed or the TPM could not be reached; the message says what to do where it can.</summary>
public sealed class TpmDeviceException : Exception
{
    public TpmDeviceException(string message) : base(message) { }

    public TpmDeviceException() : base("TPM command failed") { }

    public TpmDeviceException(string message, Exception innerException) : base(message, innerException) { }

    public TpmDeviceException(string command, uint responseCode) : base($"{command} failed: {ResponseCodes.Describe(responseCode)}") =>
        ResponseCode = responseCode;

    public uint ResponseCode { get; }
}

/// <summary>TPM_RC decoding (Part 2, "TPM_RC"): enough to tell people what went wrong.</summary>
public static class ResponseCodes
{
    public const uint Success = 0;
    public const uint Retry = 0x922;
    public const uint Yielded = 0x908;
    public const uint Testing = 0x90A;

    public static bool ShouldRetry(uint rc) => rc is Retry or Yielded or Testing;

    public static string Describe(uint rc)
    {
        var text = $"TPM_RC 0x{rc:x3}";
        if ((rc & 0x80) != 0)
        {
            var error = 0x80 + (rc & 0x3F);
            var where = (rc & 0x40) != 0 ? $", parameter {(rc >> 8) & 0xF}" : (rc & 0x800) != 0 ? $", session {(rc >> 8) & 7}" : $", handle {(rc >> 8) & 7}";
            return $"{text} ({Name(error)}{where})";
        }
        return $"{text} ({Name(rc)})";
    }

    private static string Name(uint code) => code switch
    {
        0x09A => "insufficient input",
        0x095 => "wrong size",
        0x08B => "wrong handle",
        0x09D => "policy check failed",
        0x0A2 => "authorization failed",
        0x08E => "authorization failed (counts toward dictionary-attack lockout)",
        0x09F => "integrity check failed: the credential is bound to another key",
        0x092 => "unsupported or incompatible scheme",
        0x096 => "unsupported symmetric algorithm",
        0x084 => "value out of range",
        0x100 => "TPM not initialized",
        0x101 => "the TPM is in failure mode",
        0x125 => "authorization session missing",
        0x12F => "authorization unavailable",
        0x143 => "command not supported",
        0x902 => "out of object slots",
        0x921 => "dictionary-attack lockout",
        0x922 => "retry",
        _ => "see TPM 2.0 Part 2, TPM_RC",
    };
}
