using DeviceTrust.Core.Errors;
using DeviceTrust.Core.Users;
using DeviceTrust.Grains.Users;
using Google.Protobuf.WellKnownTypes;
using Wire = DeviceTrust.Proto.V1;

namespace DeviceTrust.Gateway.Services;

/// <summary>Between wire messages and grain messages; validation of wire enums and durations lives here too.</summary>
public static class ProtoMapping
{
    public static Wire.User ToProto(this UserView user)
    {
        var message = new Wire.User
        {
            Name = user.Name,
            Id = user.Id.ToString(),
            Kind = user.Kind.ToProto(),
            Created = Timestamp.FromDateTimeOffset(user.Created),
            Updated = Timestamp.FromDateTimeOffset(user.Updated),
            HasPassword = user.HasPassword,
        };
        message.Roles.AddRange(user.Roles);
        if (user.InviteExpires is { } expires)
        {
            message.InviteExpires = Timestamp.FromDateTimeOffset(expires);
        }
        return message;
    }

    public static Wire.UserKind ToProto(this UserKind kind) => kind == UserKind.Bot ? Wire.UserKind.Bot : Wire.UserKind.Human;

    /// <summary>Unspecified means human; values this version does not know are refused.</summary>
    public static UserKind FromProto(Wire.UserKind kind) => kind switch
    {
        Wire.UserKind.Unspecified or Wire.UserKind.Human => UserKind.Human,
        Wire.UserKind.Bot => UserKind.Bot,
        _ => throw DeviceTrustException.InvalidArgument($"unknown user kind {(int)kind}"),
    };

    /// <summary>A requested lifetime: zero or absent means <paramref name="fallback"/>; negative is an error; above <paramref name="max"/> is capped.</summary>
    public static TimeSpan Ttl(Duration? requested, TimeSpan fallback, TimeSpan max, string field)
    {
        if (requested is null || (requested.Seconds == 0 && requested.Nanos == 0))
        {
            return fallback < max ? fallback : max;
        }
        if (requested.Seconds < 0 || requested.Nanos < 0 || requested.Seconds > (long)TimeSpan.FromDays(3650).TotalSeconds)
        {
            throw DeviceTrustException.InvalidArgument($"{field} must be a positive duration");
        }
        if (requested.Nanos > MaxNanos)
        {
            throw DeviceTrustException.InvalidArgument($"{field}.nanos must be between 0 and {MaxNanos}");
        }
        var ttl = requested.ToTimeSpan();
        return ttl < max ? ttl : max;
    }

    /// <summary>
    /// A timestamp from the wire, in the range protobuf defines (0001-01-01 to 9999-12-31, nanos below one second):
    /// anything else is refused here instead of failing the conversion later.
    /// </summary>
    public static DateTimeOffset Time(Timestamp timestamp, string field)
    {
        if (timestamp.Seconds is < MinTimestampSeconds or > MaxTimestampSeconds)
        {
            throw DeviceTrustException.InvalidArgument($"{field} is out of range: seconds must be between {MinTimestampSeconds} and {MaxTimestampSeconds}");
        }
        if (timestamp.Nanos is < 0 or > MaxNanos)
        {
            throw DeviceTrustException.InvalidArgument($"{field}.nanos must be between 0 and {MaxNanos}");
        }
        return timestamp.ToDateTimeOffset();
    }

    private const int MaxNanos = 999_999_999;
    private const long MinTimestampSeconds = -62_135_596_800;
    private const long MaxTimestampSeconds = 253_402_300_799;

    /// <summary>Role names given by a client: each must look like a name; duplicates are dropped.</summary>
    public static IReadOnlyList<string> RoleNames(IEnumerable<string> roles)
    {
        var list = roles.Distinct(StringComparer.Ordinal).ToList();
        if (list.Count > 64)
        {
            throw DeviceTrustException.InvalidArgument("a user can hold at most 64 roles");
        }
        foreach (var role in list)
        {
            if (!UserName.IsValid(role))
            {
                throw DeviceTrustException.InvalidArgument($"\"{UserName.Printable(role)}\" is not a valid role name");
            }
        }
        return list;
    }
}
