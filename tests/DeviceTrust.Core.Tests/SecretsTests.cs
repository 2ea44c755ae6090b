using DeviceTrust.Core.Errors;
using DeviceTrust.Core.Invitations;
using DeviceTrust.Core.Secrets;

namespace DeviceTrust.Core.Tests;

public class SecretsTests
{
    private const string Pin = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

    [Fact]
    public void Tokens_are_43_base64url_characters_and_differ()
    {
        var a = SecretToken.New();
        Assert.True(SecretToken.LooksValid(a));
        Assert.NotEqual(a, SecretToken.New());
        Assert.False(SecretToken.LooksValid(a + "="));
        Assert.False(SecretToken.LooksValid(a[..42] + "!"));
    }

    [Fact]
    public void An_invitation_round_trips()
    {
        var invitation = new InvitationToken("bob", SecretToken.New(), Pin);
        Assert.Equal(invitation, InvitationToken.Decode(invitation.Encode()));
    }

    [Theory]
    [InlineData("")]
    [InlineData("dtinv1.")]
    [InlineData("dtinv1.!!!")]
    [InlineData("something-else")]
    public void Malformed_invitations_are_refused(string text) =>
        Assert.Equal(ErrorKind.InvalidArgument, Assert.Throws<DeviceTrustException>(() => InvitationToken.Decode(text)).Kind);

    [Fact]
    public void An_invitation_with_a_bad_pin_is_refused()
    {
        var text = "dtinv1." + Base64Url.Encode(System.Text.Encoding.UTF8.GetBytes($"bob\n{SecretToken.New()}\nsha256:12"));
        Assert.Throws<DeviceTrustException>(() => InvitationToken.Decode(text));
    }

    [Fact]
    public void The_master_key_round_trips_and_binds_the_purpose()
    {
        using var key = new MasterKey(MasterKey.Generate());
        var blob = key.Encrypt("secret"u8, "ca/user");
        Assert.Equal("secret"u8.ToArray(), key.Decrypt(blob, "ca/user"));
        Assert.Throws<DeviceTrustException>(() => key.Decrypt(blob, "ca/ssh"));
    }

    [Fact]
    public void Another_master_key_cannot_decrypt()
    {
        using var key = new MasterKey(MasterKey.Generate());
        using var other = new MasterKey(MasterKey.Generate());
        var error = Assert.Throws<DeviceTrustException>(() => other.Decrypt(key.Encrypt("secret"u8, "ca/user"), "ca/user"));
        Assert.Contains("not the one it was encrypted with", error.Message);
    }

    [Fact]
    public void While_rotating_both_keys_decrypt_and_rewrapping_moves_a_secret_to_the_new_key()
    {
        var oldBytes = MasterKey.Generate();
        var newBytes = MasterKey.Generate();
        using var old = new MasterKey(oldBytes);
        using var rotating = new MasterKey(newBytes, oldBytes);
        using var rotated = new MasterKey(newBytes);
        var underOld = old.Encrypt("secret"u8, "ca/user");

        Assert.True(rotating.HasPrevious);
        Assert.Equal("secret"u8.ToArray(), rotating.Decrypt(underOld, "ca/user", out var current));
        Assert.False(current);
        var rewrapped = rotating.Rewrap(underOld, "ca/user");
        Assert.NotNull(rewrapped);
        Assert.Null(rotating.Rewrap(rewrapped, "ca/user"));
        Assert.Equal("secret"u8.ToArray(), rotated.Decrypt(rewrapped, "ca/user", out current));
        Assert.True(current);
        // The purpose still binds, and a secret under the old key alone does not open with the new key alone.
        Assert.Throws<DeviceTrustException>(() => rotating.Rewrap(underOld, "ca/ssh"));
        var error = Assert.Throws<DeviceTrustException>(() => rotated.Decrypt(underOld, "ca/user"));
        Assert.Equal(ErrorKind.FailedPrecondition, error.Kind);
        Assert.Contains("give the old one as DEVICETRUST_PREVIOUS_MASTER_KEY", error.Message);
        using var unrelated = new MasterKey(MasterKey.Generate(), MasterKey.Generate());
        Assert.Contains("neither the master key nor the previous master key", Assert.Throws<DeviceTrustException>(() => unrelated.Decrypt(underOld, "ca/user")).Message);
    }

    [Fact]
    public void The_previous_master_key_must_be_another_valid_key()
    {
        var key = Convert.ToBase64String(MasterKey.Generate());

        Assert.Equal("the previous master key is the current one: give the new key as the master key and the old one as the previous",
            Assert.Throws<DeviceTrustException>(() => MasterKey.FromBase64(key, key)).Message);
        Assert.Equal("the previous master key is not valid base64", Assert.Throws<DeviceTrustException>(() => MasterKey.FromBase64(key, "not base64!")).Message);
        Assert.Equal("the previous master key must be 32 bytes (base64 of 32 random bytes)",
            Assert.Throws<DeviceTrustException>(() => MasterKey.FromBase64(key, Convert.ToBase64String(new byte[16]))).Message);
        using var plain = MasterKey.FromBase64(key, " ");
        Assert.False(plain.HasPrevious);
    }

    [Fact]
    public void A_master_key_of_the_wrong_length_is_refused() =>
        Assert.Throws<DeviceTrustException>(() => MasterKey.FromBase64(Convert.ToBase64String(new byte[16])));

    [Fact]
    public void Secure_files_are_created_owner_only()
    {
        var directory = Path.Combine(Path.GetTempPath(), "dt-" + Guid.NewGuid().ToString("N"));
        var path = Path.Combine(directory, "secret");
        try
        {
            SecureFile.WriteAllText(path, "one");
            SecureFile.WriteAllText(path, "two");
            Assert.Equal("two", File.ReadAllText(path));
            Assert.False(SecureFile.IsReadableByOthers(path));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(directory));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}

public class UserNameTests
{
    [Theory]
    [InlineData("alice")]
    [InlineData("bob.smith@example")]
    [InlineData("svc-ci_01")]
    public void Ordinary_names_are_valid(string name) => Assert.Equal(name, Users.UserName.Validate(name));

    [Theory]
    [InlineData("")]
    [InlineData("Alice")]
    [InlineData("-leading")]
    [InlineData("a b")]
    [InlineData("a\nb")]
    [InlineData("x/../y")]
    public void Other_names_are_refused(string name) =>
        Assert.Equal(ErrorKind.InvalidArgument, Assert.Throws<DeviceTrustException>(() => Users.UserName.Validate(name)).Kind);

    [Fact]
    public void Names_longer_than_64_characters_are_refused() =>
        Assert.Contains("longer than 64", Assert.Throws<DeviceTrustException>(() => Users.UserName.Validate(new string('a', 65))).Message);
}
