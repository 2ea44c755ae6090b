using System.Text;
using DeviceTrust.Core.Errors;

namespace DeviceTrust.Core.Passwords;

/// <summary>What a password must be: long enough to resist guessing, short enough not to be a denial-of-service lever on the KDF.</summary>
public static class PasswordPolicy
{
    public const int MinLength = 12;
    public const int MaxBytes = 1024;

    public static void Validate(string? password)
    {
        if (string.IsNullOrEmpty(password))
        {
            throw DeviceTrustException.InvalidArgument("a password is required");
        }
        if (password.Length < MinLength)
        {
            throw DeviceTrustException.InvalidArgument($"the password is too short: use at least {MinLength} characters");
        }
        if (Encoding.UTF8.GetByteCount(password) > MaxBytes)
        {
            throw DeviceTrustException.InvalidArgument($"the password is too long: at most {MaxBytes} bytes");
        }
    }
}
