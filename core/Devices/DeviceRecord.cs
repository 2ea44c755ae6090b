namespace DeviceTrust.Core.Devices;

public enum EnrollStatus
{
    NotEnrolled = 1,
    Enrolled = 2,
}

public enum AttestationType
{
    Unspecified = 0,
    TpmEkPub = 1,
    TpmEkCert = 2,
    TpmEkCertTrusted = 3,

    /// <summary>The EK matched the one pinned in the inventory before the device enrolled.</summary>
    TpmEkPubPinned = 4,
}

public enum DeviceSource
{
    Api = 1,
    Jamf = 2,
    Intune = 3,
}

/// <summary>The credential a device proved possession of at enrollment.</summary>
public sealed record DeviceCredential(string Id, byte[] PublicKeyDer, AttestationType AttestationType, string TpmEkCertSerial, byte[] TpmAkPublic)
{
    /// <summary>The AK signs under the EK (its quotes' qualified signer says so): its quotes' boot counters are not obfuscated.</summary>
    public bool TpmCountersOrdered { get; init; }

    /// <summary>The SHA-256 (hex) of the EK's SubjectPublicKeyInfo, for TPM credentials (empty for those enrolled before it was kept).</summary>
    public string EkSha256 { get; init; } = "";

    /// <summary>The subject of the allowed EK CA the EK certificate chained to at enrollment (tpm_ekcert_trusted); empty otherwise.</summary>
    public string EkCertificateCa { get; init; } = "";
}

/// <summary>A user by immutable id, with the name they had when recorded (for people to read; the id decides).</summary>
public sealed record DeviceUser(string Id, string Name);

/// <summary>
/// MDM data about a device. <paramref name="OsBuildSupplemental"/>: macOS's rapid security response build, which a
/// device may report instead; <paramref name="ExternalId"/>: the MDM's id for it; <paramref name="AssignedUser"/>: the
/// user the MDM assigns it to.
/// </summary>
public sealed record DeviceProfile(DateTimeOffset UpdateTime, string ModelIdentifier, string OsVersion, string OsBuild, IReadOnlyList<string> OsUsernames,
    string OsBuildSupplemental = "", string ExternalId = "", string AssignedUser = "")
{
    /// <summary>The MDM gave the device to someone else: the stored profile had an assigned user and the synced one names another.</summary>
    public static bool AssignedUserChanges(DeviceProfile? stored, DeviceProfile? synced) =>
        stored is { AssignedUser.Length: > 0 } && synced is { AssignedUser.Length: > 0 }
        && !string.Equals(stored.AssignedUser, synced.AssignedUser, StringComparison.OrdinalIgnoreCase);

    /// <summary>The fields of the two profiles that differ, by their wire names (the update time is not compared).</summary>
    public static IReadOnlyList<string> Differences(DeviceProfile? before, DeviceProfile after)
    {
        var changed = new List<string>();
        void Compare(string name, string? a, string b)
        {
            if (!string.Equals(a ?? "", b, StringComparison.Ordinal))
            {
                changed.Add(name);
            }
        }
        Compare("model_identifier", before?.ModelIdentifier, after.ModelIdentifier);
        Compare("os_version", before?.OsVersion, after.OsVersion);
        Compare("os_build", before?.OsBuild, after.OsBuild);
        Compare("os_build_supplemental", before?.OsBuildSupplemental, after.OsBuildSupplemental);
        if (!(before?.OsUsernames ?? []).SequenceEqual(after.OsUsernames, StringComparer.Ordinal))
        {
            changed.Add("os_usernames");
        }
        Compare("external_id", before?.ExternalId, after.ExternalId);
        Compare("assigned_user", before?.AssignedUser, after.AssignedUser);
        return changed;
    }
}

/// <summary>
/// A device of the inventory: what it is, whether and how it enrolled, who enrolled it, and what it reported (the
/// enrollment record, then at most the last <see cref="MaxAuthenticationRecords"/> authentications).
/// </summary>
public sealed record DeviceRecord(
    Guid Id,
    OsType OsType,
    string AssetTag,
    DateTimeOffset CreateTime,
    DateTimeOffset UpdateTime,
    EnrollStatus EnrollStatus,
    DeviceCredential? Credential,
    IReadOnlyList<CollectedData> CollectedData,
    DeviceSource Source,
    DeviceProfile? Profile,
    string Owner,
    string CreatedBy)
{
    public const int MaxAuthenticationRecords = 10;

    /// <summary>People beside the owner an administrator allowed to authenticate with this device; at most this many.</summary>
    public const int MaxUsers = 64;

    /// <summary>
    /// The immutable id of the user who enrolled the device (<see cref="Owner"/> is their name at the time). Empty for
    /// devices enrolled before ids were recorded: nobody owns those until an administrator adds users or they re-enroll.
    /// </summary>
    public string OwnerId { get; init; } = "";

    /// <summary>Who else may authenticate with this device, added by an administrator (several people can share one).</summary>
    public IReadOnlyList<DeviceUser> Users { get; init; } = [];

    /// <summary>
    /// The EK this device must enroll with (<see cref="EkPin"/>), recorded by an administrator or an MDM sync; empty
    /// when none is pinned. An enrollment with another EK is refused; one with this EK is proven (<c>tpm_ekpub_pinned</c>).
    /// </summary>
    public string PinnedEkSha256 { get; init; } = "";

    /// <summary>The MDM instance a synced device came from (<see cref="Source"/> is its kind); empty for devices of the API.</summary>
    public string SourceName { get; init; } = "";

    /// <summary>What the last verified quote (and event log, when sent) said about the boot; null for key devices.</summary>
    public BootRecord? LastBoot { get; init; }

    /// <summary>The clock of the last quote this TPM device proved itself with (clone and rollback detection).</summary>
    public TpmClock? LastTpmClock { get; init; }

    /// <summary>A device as the inventory first knows it: not enrolled, no credential, no owner.</summary>
    public static DeviceRecord New(Guid id, OsType os, string assetTag, DeviceSource source, string createdBy, string pinnedEkSha256, DateTimeOffset now) =>
        new(id, os, assetTag, now, now, EnrollStatus.NotEnrolled, null, [], source, null, "", createdBy) { PinnedEkSha256 = pinnedEkSha256 };

    [System.Text.Json.Serialization.JsonIgnore]
    public string AssetTagKey => AssetTags.Key(OsType, AssetTag);

    /// <summary>
    /// An MDM sync with this profile unenrolls the device: it is enrolled, the cluster unenrolls on an owner change, and
    /// the MDM gives it to someone else. The device grain decides with it; a dry run predicts with it.
    /// </summary>
    public bool UnenrolledBySync(DeviceProfile? synced, bool unenrollOnOwnerChange) =>
        unenrollOnOwnerChange && EnrollStatus == EnrollStatus.Enrolled && DeviceProfile.AssignedUserChanges(Profile, synced);

    /// <summary>The enrollment record stays; authentications roll over.</summary>
    public IReadOnlyList<CollectedData> WithAuthentication(CollectedData data) =>
        CollectedData.Count == 0
            ? [data]
            : [CollectedData[0], .. CollectedData.Skip(1).TakeLast(MaxAuthenticationRecords - 1), data];
}
