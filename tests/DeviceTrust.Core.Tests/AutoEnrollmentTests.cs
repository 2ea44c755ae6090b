using DeviceTrust.Core.Devices;

namespace DeviceTrust.Core.Tests;

/// <summary>The exact match auto-enrollment asks of a device's reported data against its MDM profile.</summary>
public sealed class AutoEnrollmentTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 3, 12, 0, 0, TimeSpan.Zero);
    private static readonly DeviceProfile Mdm = new(Now, "MacBookPro18,3", "14.2", "23C64", ["alice"], "23C71");

    private static CollectedData Data(string serial = "C02XYZ", OsType os = OsType.MacOS, string model = "MacBookPro18,3", string version = "14.2",
        string build = "23C64") =>
        new(Now, Now, os, serial, model, version, build, "alice", "", "", "", "");

    private static DeviceRecord Device(DeviceProfile? profile, EnrollStatus status = EnrollStatus.NotEnrolled) =>
        new(Guid.NewGuid(), OsType.MacOS, "C02XYZ", Now, Now, status,
            status == EnrollStatus.Enrolled ? new DeviceCredential("cred-1", [], AttestationType.Unspecified, "", []) : null,
            [], DeviceSource.Jamf, profile, "bob", "admin");

    [Fact]
    public void Data_that_matches_field_for_field_may_enroll_with_the_build_or_the_supplemental_build()
    {
        Assert.Null(AutoEnrollment.Refusal(Device(Mdm), Data()));
        Assert.Null(AutoEnrollment.Refusal(Device(Mdm), Data(build: "23C71")));
    }

    [Theory]
    [InlineData("C02XYW", OsType.MacOS, "MacBookPro18,3", "14.2", "23C64", "serial number differs: the MDM says \"C02XYZ\", the device \"C02XYW\"")]
    [InlineData("C02XYZ", OsType.Linux, "MacBookPro18,3", "14.2", "23C64", "OS differs: the MDM says \"macos\", the device \"linux\"")]
    [InlineData("C02XYZ", OsType.MacOS, "MacBookPro18,1", "14.2", "23C64", "model differs: the MDM says \"MacBookPro18,3\", the device \"MacBookPro18,1\"")]
    [InlineData("C02XYZ", OsType.MacOS, "MacBookPro18,3", "14.1", "23C64", "OS version differs: the MDM says \"14.2\", the device \"14.1\"")]
    [InlineData("C02XYZ", OsType.MacOS, "MacBookPro18,3", "14.2", "23C63", "OS build differs: the MDM says \"23C64\" (or \"23C71\"), the device \"23C63\"")]
    [InlineData("C02XYZ", OsType.MacOS, "macbookpro18,3", "14.2", "23C64", "model differs: the MDM says \"MacBookPro18,3\", the device \"macbookpro18,3\"")]
    public void The_first_field_that_differs_is_named_with_both_values(string serial, OsType os, string model, string version, string build, string reason) =>
        Assert.Equal(reason, AutoEnrollment.Refusal(Device(Mdm), Data(serial, os, model, version, build)));

    [Fact]
    public void A_profile_field_the_MDM_left_empty_matches_nothing_not_even_empty_data()
    {
        Assert.Equal("the MDM profile has no model", AutoEnrollment.Refusal(Device(Mdm with { ModelIdentifier = "" }), Data(model: "")));
        Assert.Equal("the MDM profile has no OS build", AutoEnrollment.Refusal(Device(Mdm with { OsBuild = "", OsBuildSupplemental = "" }), Data(build: "")));
        Assert.Null(AutoEnrollment.Refusal(Device(Mdm with { OsBuildSupplemental = "" }), Data()));
    }

    [Fact]
    public void A_device_without_a_profile_or_already_enrolled_may_not()
    {
        Assert.Equal("device C02XYZ/macos has no MDM profile to compare with", AutoEnrollment.Refusal(Device(null), Data()));
        Assert.Equal("device C02XYZ/macos is already enrolled (by bob)", AutoEnrollment.Refusal(Device(Mdm, EnrollStatus.Enrolled), Data()));
    }
}
