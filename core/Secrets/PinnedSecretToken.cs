using System.Text;
using DeviceTrust.Core.Errors;

namespace DeviceTrust.Core.Secrets;

/// <summary>
/// The wire form shared by the one-time tokens that open a first connection (invitations, node join tokens):
/// a versioned prefix + base64url("subject\nsecret\nsha256:hex"), at most 512 characters, strict UTF-8, the subject
/// checked by the caller's rule, the secret's shape and the CA pin checked here. Every failure is the caller's one
/// message, so a malformed token never tells which part was wrong.
/// </summary>
public static class PinnedSecretToken
{
    public const int MaxLength = 512;

    public static string Encode(string prefix, string subject, string secret, string caPin) =>
        prefix + Base64Url.Encode(Encoding.UTF8.GetBytes($"{subject}\n{secret}\n{caPin}"));

    public static (string Subject, string Secret, string CaPin) Decode(string? text, string prefix, Func<string, bool> validSubject, string invalid)
    {
        if (text is null || text.Length > MaxLength || !text.StartsWith(prefix, StringComparison.Ordinal)
            || !Base64Url.TryDecode(text[prefix.Length..], out var bytes))
        {
            throw DeviceTrustException.InvalidArgument(invalid);
        }
        string[] parts;
        try
        {
            parts = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes).Split('\n');
        }
        catch (DecoderFallbackException)
        {
            throw DeviceTrustException.InvalidArgument(invalid);
        }
        if (parts.Length != 3 || !validSubject(parts[0]) || !SecretToken.LooksValid(parts[1]))
        {
            throw DeviceTrustException.InvalidArgument(invalid);
        }
        Certificates.CaPin.Parse(parts[2]);
        return (parts[0], parts[1], parts[2]);
    }
}
