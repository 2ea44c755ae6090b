using DeviceTrust.Core.Devices;
using DeviceTrust.Core.Errors;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Wire = DeviceTrust.Proto.V1;

namespace DeviceTrust.Gateway.Services;

/// <summary>Between the wire and core device records, validating everything that comes from the network.</summary>
public static class DeviceMapping
{
    public static OsType FromProto(Wire.OSType os) => os switch
    {
        Wire.OSType.Linux => OsType.Linux,
        Wire.OSType.Macos => OsType.MacOS,
        Wire.OSType.Windows => OsType.Windows,
        Wire.OSType.Unspecified => throw DeviceTrustException.InvalidArgument("os_type is required: linux, macos or windows"),
        _ => throw DeviceTrustException.InvalidArgument($"unknown os_type {(int)os}"),
    };

    public static Wire.OSType ToProto(OsType os) => os switch
    {
        OsType.Linux => Wire.OSType.Linux,
        OsType.MacOS => Wire.OSType.Macos,
        OsType.Windows => Wire.OSType.Windows,
        _ => Wire.OSType.Unspecified,
    };

    /// <summary>Collected data from a device: required, every field bounded; the server stamps the record time.</summary>
    public static CollectedData FromProto(Wire.DeviceCollectedData? data, DateTimeOffset now)
    {
        if (data is null)
        {
            throw DeviceTrustException.InvalidArgument("device_data is required");
        }
        var serial = DeviceFields.Text(data.SerialNumber, "device_data.serial_number");
        if (serial.Length == 0)
        {
            throw DeviceTrustException.InvalidArgument("device_data.serial_number is required");
        }
        return new CollectedData(
            data.CollectTime is { } collected ? ProtoMapping.Time(collected, "device_data.collect_time") : now,
            now,
            FromProto(data.OsType),
            serial,
            DeviceFields.Text(data.ModelIdentifier, "device_data.model_identifier"),
            DeviceFields.Text(data.OsVersion, "device_data.os_version"),
            DeviceFields.Text(data.OsBuild, "device_data.os_build"),
            DeviceFields.Text(data.OsUsername, "device_data.os_username"),
            DeviceFields.Text(data.OsId, "device_data.os_id"),
            DeviceFields.Text(data.ReportedAssetTag, "device_data.reported_asset_tag"),
            DeviceFields.Text(data.SystemSerialNumber, "device_data.system_serial_number"),
            DeviceFields.Text(data.BaseBoardSerialNumber, "device_data.base_board_serial_number"));
    }

    public static Wire.DeviceCollectedData ToProto(CollectedData data) => new()
    {
        CollectTime = Timestamp.FromDateTimeOffset(data.CollectTime),
        RecordTime = Timestamp.FromDateTimeOffset(data.RecordTime),
        OsType = ToProto(data.OsType),
        SerialNumber = data.SerialNumber,
        ModelIdentifier = data.ModelIdentifier,
        OsVersion = data.OsVersion,
        OsBuild = data.OsBuild,
        OsUsername = data.OsUsername,
        OsId = data.OsId,
        ReportedAssetTag = data.ReportedAssetTag,
        SystemSerialNumber = data.SystemSerialNumber,
        BaseBoardSerialNumber = data.BaseBoardSerialNumber,
    };

    public static DeviceProfile? FromProto(Wire.DeviceProfile? profile, DateTimeOffset now) =>
        profile is null
            ? null
            : new DeviceProfile(now,
                DeviceFields.Text(profile.ModelIdentifier, "profile.model_identifier"),
                DeviceFields.Text(profile.OsVersion, "profile.os_version"),
                DeviceFields.Text(profile.OsBuild, "profile.os_build"),
                profile.OsUsernames.Count <= 64
                    ? profile.OsUsernames.Select(u => DeviceFields.Text(u, "profile.os_usernames")).ToList()
                    : throw DeviceTrustException.InvalidArgument("profile.os_usernames has more than 64 entries"),
                DeviceFields.Text(profile.OsBuildSupplemental, "profile.os_build_supplemental"),
                DeviceFields.Text(profile.ExternalId, "profile.external_id"),
                DeviceFields.Text(profile.AssignedUser, "profile.assigned_user"));

    public static Wire.Device ToProto(DeviceRecord device)
    {
        var message = new Wire.Device
        {
            Id = device.Id.ToString(),
            OsType = ToProto(device.OsType),
            AssetTag = device.AssetTag,
            CreateTime = Timestamp.FromDateTimeOffset(device.CreateTime),
            UpdateTime = Timestamp.FromDateTimeOffset(device.UpdateTime),
            EnrollStatus = device.EnrollStatus == EnrollStatus.Enrolled ? Wire.DeviceEnrollStatus.Enrolled : Wire.DeviceEnrollStatus.NotEnrolled,
            Source = device.Source switch
            {
                DeviceSource.Jamf => Wire.DeviceSource.Jamf,
                DeviceSource.Intune => Wire.DeviceSource.Intune,
                _ => Wire.DeviceSource.Api,
            },
            Owner = device.Owner,
            OwnerId = device.OwnerId,
            PinnedEkSha256 = device.PinnedEkSha256.Length == 0 ? "" : EkPin.Text(device.PinnedEkSha256),
            SourceName = device.SourceName,
        };
        message.Users.AddRange(device.Users.Select(u => new Wire.DeviceUser { Id = u.Id, Name = u.Name }));
        if (device.Credential is { } credential)
        {
            message.Credential = new Wire.DeviceCredential
            {
                Id = credential.Id,
                PublicKeyDer = ByteString.CopyFrom(credential.PublicKeyDer),
                DeviceAttestationType = (Wire.DeviceAttestationType)(int)credential.AttestationType,
                TpmEkcertSerial = credential.TpmEkCertSerial,
                TpmAkPublic = ByteString.CopyFrom(credential.TpmAkPublic),
                TpmEkSha256 = credential.EkSha256.Length == 0 ? "" : EkPin.Text(credential.EkSha256),
                TpmEkcertCa = credential.EkCertificateCa,
            };
        }
        if (device.LastBoot is { } boot)
        {
            message.Boot = new Wire.DeviceBoot
            {
                VerifyTime = Timestamp.FromDateTimeOffset(boot.VerifiedAt),
                EventLogSha256 = boot.EventLogSha256,
                EventLogEvents = boot.EventLogEvents,
                SecureBoot = boot.SecureBoot switch
                {
                    true => Wire.SecureBootState.Enabled,
                    false => Wire.SecureBootState.Disabled,
                    null => Wire.SecureBootState.Unknown,
                },
                SecureBootUnknown = boot.SecureBootUnknown,
                DbxSha256Entries = boot.DbxSha256Entries ?? -1,
            };
            message.Boot.BootApplications.AddRange(boot.BootApplications);
            message.Boot.Pcrs.AddRange(boot.Pcrs.Select(p => new Wire.TPMPCR
            {
                Index = p.Index,
                DigestAlg = Tpm.Codec.TpmAlg.HashByName(p.Bank) ?? 0,
                Digest = ByteString.CopyFrom(Convert.FromHexString(p.Value)),
            }));
        }
        if (device.Profile is { } profile)
        {
            message.Profile = new Wire.DeviceProfile
            {
                UpdateTime = Timestamp.FromDateTimeOffset(profile.UpdateTime),
                ModelIdentifier = profile.ModelIdentifier,
                OsVersion = profile.OsVersion,
                OsBuild = profile.OsBuild,
                OsBuildSupplemental = profile.OsBuildSupplemental,
                ExternalId = profile.ExternalId,
                AssignedUser = profile.AssignedUser,
            };
            message.Profile.OsUsernames.AddRange(profile.OsUsernames);
        }
        message.CollectedData.AddRange(device.CollectedData.Select(ToProto));
        return message;
    }
}
