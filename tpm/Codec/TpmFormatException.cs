namespace DeviceTrust.Tpm.Codec;

/// <summary>Bytes that are not the TPM structure they claim to be. The message says which field and why.</summary>
public sealed class TpmFormatException : Exception
{
    public TpmFormatException(string message) : base(message) { }

    public TpmFormatException() : base("malformed TPM structure") { }

    public TpmFormatException(string message, Exception innerException) : base(message, innerException) { }
}
