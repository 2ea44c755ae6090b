namespace DeviceTrust.Tpm.Verification;

/// <summary>Evidence that does not hold: the message is the real reason (it goes to the audit log).</summary>
public sealed class TpmVerificationException : Exception
{
    public TpmVerificationException(string message) : base(message) { }

    public TpmVerificationException() : base("TPM evidence does not verify") { }

    public TpmVerificationException(string message, Exception innerException) : base(message, innerException) { }
}
