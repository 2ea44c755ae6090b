using DeviceTrust.Core.Errors;
using DeviceTrust.Core.Passwords;

namespace DeviceTrust.Core.Tests;

public class PasswordHasherTests
{
    // A low count keeps the suite fast; the production count is asserted separately.
    private readonly PasswordHasher _hasher = new(iterations: 1_000);

    [Fact]
    public void The_right_password_verifies() =>
        Assert.True(_hasher.Verify("correct horse battery", _hasher.Hash("correct horse battery")));

    [Fact]
    public void A_wrong_password_does_not_verify() =>
        Assert.False(_hasher.Verify("correct horse batterz", _hasher.Hash("correct horse battery")));

    [Fact]
    public void Each_hash_has_its_own_salt() =>
        Assert.NotEqual(_hasher.Hash("same password"), _hasher.Hash("same password"));

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("$pbkdf2-sha256$i=1000$bm90YmFzZTY0$")]
    [InlineData("$md5$i=1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")]
    [InlineData("$pbkdf2-sha256$i=-5$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")]
    public void A_missing_or_malformed_stored_hash_never_verifies(string? stored) =>
        Assert.False(_hasher.Verify("anything at all", stored));

    [Fact]
    public void The_iteration_count_travels_with_the_hash()
    {
        var stored = new PasswordHasher(iterations: 2_000).Hash("a long password");
        Assert.Contains("$i=2000$", stored);
        Assert.True(_hasher.Verify("a long password", stored));
    }

    [Fact]
    public void The_default_is_owasps_pbkdf2_sha256_count() =>
        Assert.StartsWith("$pbkdf2-sha256$i=600000$", PasswordHasher.Default.Hash("x"));

    [Theory]
    [InlineData("short")]
    [InlineData("")]
    public void Short_passwords_are_refused(string password) =>
        Assert.Equal(ErrorKind.InvalidArgument, Assert.Throws<DeviceTrustException>(() => PasswordPolicy.Validate(password)).Kind);

    [Fact]
    public void Huge_passwords_are_refused() =>
        Assert.Throws<DeviceTrustException>(() => PasswordPolicy.Validate(new string('x', PasswordPolicy.MaxBytes + 1)));
}
