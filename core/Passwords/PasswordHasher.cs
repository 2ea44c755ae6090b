using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace DeviceTrust.Core.Passwords;

/// <summary>
/// PBKDF2-HMAC-SHA256 with 600,000 iterations and a 16-byte salt: OWASP's current recommendation for
/// PBKDF2, built into .NET (native OpenSSL speed, no extra dependency). The iteration count is stored
/// with each hash, so it can be raised later and old hashes still verify.
/// See docs/decisions/0002-password-hashing.md.
/// </summary>
public sealed class PasswordHasher
{
    public const int DefaultIterations = 600_000;
    private const string Scheme = "pbkdf2-sha256";
    private const int SaltBytes = 16;
    private const int HashBytes = 32;

    private readonly int _iterations;
    private readonly string _dummyHash;

    public PasswordHasher(int iterations = DefaultIterations)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(iterations, 1);
        _iterations = iterations;
        // Verifying against this when a user does not exist costs what a real verification costs,
        // so the response time does not tell whether a user name exists.
        _dummyHash = Hash("not a password of anybody's");
    }

    public static PasswordHasher Default { get; } = new();

    public string Hash(string password)
    {
        ArgumentNullException.ThrowIfNull(password);
        var salt = RandomNumberGenerator.GetBytes(SaltBytes);
        var hash = Derive(password, salt, _iterations);
        return string.Create(CultureInfo.InvariantCulture,
            $"${Scheme}$i={_iterations}${Convert.ToBase64String(salt)}${Convert.ToBase64String(hash)}");
    }

    /// <summary>True when <paramref name="password"/> matches; a null or malformed stored hash costs the same and fails.</summary>
    public bool Verify(string password, string? storedHash)
    {
        ArgumentNullException.ThrowIfNull(password);
        if (storedHash is null || !TryParse(storedHash, out var iterations, out var salt, out var expected))
        {
            _ = TryParse(_dummyHash, out iterations, out salt, out _);
            _ = Derive(password, salt, iterations);
            return false;
        }
        var actual = Derive(password, salt, iterations);
        return CryptographicOperations.FixedTimeEquals(actual, expected);
    }

    private static byte[] Derive(string password, byte[] salt, int iterations) =>
        Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, HashAlgorithmName.SHA256, HashBytes);

    private static bool TryParse(string stored, out int iterations, out byte[] salt, out byte[] hash)
    {
        iterations = 0;
        salt = hash = [];
        var parts = stored.Split('$');
        if (parts.Length != 5 || parts[0].Length != 0 || parts[1] != Scheme || !parts[2].StartsWith("i=", StringComparison.Ordinal))
        {
            return false;
        }
        if (!int.TryParse(parts[2].AsSpan(2), NumberStyles.None, CultureInfo.InvariantCulture, out iterations) || iterations < 1)
        {
            return false;
        }
        try
        {
            salt = Convert.FromBase64String(parts[3]);
            hash = Convert.FromBase64String(parts[4]);
        }
        catch (FormatException)
        {
            return false;
        }
        return salt.Length >= SaltBytes && hash.Length == HashBytes;
    }
}
