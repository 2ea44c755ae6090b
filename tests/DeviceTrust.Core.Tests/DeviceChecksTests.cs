using System.Security.Cryptography;
using DeviceTrust.Core.Devices;
using DeviceTrust.Core.Errors;

namespace DeviceTrust.Core.Tests;

public class DeviceChecksTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 24, 12, 0, 0, TimeSpan.Zero);

    private static CollectedData Data(string serial = "C00AA0AAAA0A", OsType os = OsType.Linux, string version = "12") =>
        new(Now, Now, os, serial, "", version, "", "alice", "debian", "", "", "");

    private static DeviceRecord Device(EnrollStatus status = EnrollStatus.NotEnrolled, string credential = "cred-1", params CollectedData[] data) =>
        new(Guid.NewGuid(), OsType.Linux, "C00AA0AAAA0A", Now, Now, status,
            status == EnrollStatus.Enrolled ? new DeviceCredential(credential, [], AttestationType.Unspecified, "", []) : null,
            data, DeviceSource.Api, null, "", "admin");

    [Fact]
    public void Matching_data_may_enroll() => DeviceChecks.EnsureCanEnroll(Device(), Data());

    [Theory]
    [InlineData("C00AA0AAAA0B", OsType.Linux, "serial number \"C00AA0AAAA0B\" is not the asset tag")]
    [InlineData("C00AA0AAAA0A", OsType.MacOS, "OS macos is not the inventory's linux")]
    public void Data_that_does_not_match_the_inventory_is_refused(string serial, OsType os, string reason)
    {
        var error = Assert.Throws<DeviceTrustException>(() => DeviceChecks.EnsureCanEnroll(Device(), Data(serial, os)));
        Assert.Equal(ErrorKind.PermissionDenied, error.Kind);
        Assert.Contains(reason, error.Message);
    }

    [Fact]
    public void An_enrolled_device_cannot_enroll_again() =>
        Assert.Contains("already enrolled", Assert.Throws<DeviceTrustException>(() => DeviceChecks.EnsureCanEnroll(Device(EnrollStatus.Enrolled, data: Data()), Data())).Message);

    [Fact]
    public void An_unenrolled_device_cannot_authenticate() =>
        Assert.Equal("device not enrolled", Assert.Throws<DeviceTrustException>(() => DeviceChecks.EnsureCanAuthenticate(Device(), "cred-1", Data())).Message);

    [Fact]
    public void Another_credential_cannot_authenticate() =>
        Assert.Equal("unknown device credential",
            Assert.Throws<DeviceTrustException>(() => DeviceChecks.EnsureCanAuthenticate(Device(EnrollStatus.Enrolled, data: Data()), "cred-2", Data())).Message);

    [Theory]
    [InlineData("12", "12", true)]
    [InlineData("12", "13", true)]
    [InlineData("12.4", "12.10", true)]
    [InlineData("13", "12", false)]
    [InlineData("10.0.22631", "10.0.19045", false)]
    public void The_os_version_never_goes_backwards(string enrolled, string now, bool allowed)
    {
        var device = Device(EnrollStatus.Enrolled, data: Data(version: enrolled));
        if (allowed)
        {
            DeviceChecks.EnsureCanAuthenticate(device, "cred-1", Data(version: now));
        }
        else
        {
            Assert.StartsWith("collected data drift detected", Assert.Throws<DeviceTrustException>(() => DeviceChecks.EnsureCanAuthenticate(device, "cred-1", Data(version: now))).Message);
        }
    }

    [Fact]
    public void Kept_data_is_the_enrollment_record_and_the_last_ten_authentications()
    {
        var device = Device(EnrollStatus.Enrolled, data: Data(version: "1"));
        for (var i = 2; i <= 30; i++)
        {
            device = device with { CollectedData = device.WithAuthentication(Data(version: i.ToString(System.Globalization.CultureInfo.InvariantCulture))) };
        }
        Assert.Equal(11, device.CollectedData.Count);
        Assert.Equal("1", device.CollectedData[0].OsVersion);
        Assert.Equal(Enumerable.Range(21, 10).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)), device.CollectedData.Skip(1).Select(d => d.OsVersion));
    }

    [Fact]
    public void A_p256_signature_over_the_challenge_verifies_and_others_do_not()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var other = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var publicKey = KeyChallenge.ValidatePublicKey(key.ExportSubjectPublicKeyInfo());
        var challenge = KeyChallenge.New();
        Assert.Equal(32, challenge.Length);
        Assert.True(KeyChallenge.Verify(publicKey, challenge, KeyChallenge.Sign(key, challenge)));
        Assert.False(KeyChallenge.Verify(publicKey, challenge, KeyChallenge.Sign(other, challenge)));
        Assert.False(KeyChallenge.Verify(publicKey, KeyChallenge.New(), KeyChallenge.Sign(key, challenge)));
    }

    [Theory]
    [InlineData("nistP384")]
    [InlineData("nistP521")]
    public void Device_keys_on_other_curves_are_refused(string curve)
    {
        using var key = ECDsa.Create(ECCurve.CreateFromFriendlyName(curve));
        Assert.Contains("P-256", Assert.Throws<DeviceTrustException>(() => KeyChallenge.ValidatePublicKey(key.ExportSubjectPublicKeyInfo())).Message);
    }

    [Fact]
    public void A_p224_device_key_is_refused()
    {
        // P-224 (secp224r1) as a DER SubjectPublicKeyInfo, built by hand since .NET on Linux may not create the curve.
        var spki = Convert.FromHexString(
            "304e301006072a8648ce3d020106052b81040021033a0004" + new string('1', 112));
        Assert.Throws<DeviceTrustException>(() => KeyChallenge.ValidatePublicKey(spki));
    }

    [Theory]
    [InlineData("")]
    [InlineData("has space")]
    [InlineData("tab\there")]
    public void Bad_asset_tags_are_refused(string tag) => Assert.Throws<DeviceTrustException>(() => DeviceFields.AssetTag(tag));

    [Fact]
    public void Field_caps_hold()
    {
        Assert.Throws<DeviceTrustException>(() => DeviceFields.AssetTag(new string('A', 121)));
        Assert.Equal(new string('A', 120), DeviceFields.AssetTag(new string('A', 120)));
        Assert.Throws<DeviceTrustException>(() => DeviceFields.CredentialId(new string('c', 65)));
        Assert.Throws<DeviceTrustException>(() => DeviceFields.Text(new string('x', 257), "model"));
        Assert.Throws<DeviceTrustException>(() => DeviceFields.DeviceId("not-a-guid"));
    }
}
