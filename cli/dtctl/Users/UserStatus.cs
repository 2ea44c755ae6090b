using DeviceTrust.Proto.V1;

namespace DeviceTrust.Cli.Dtctl.Users;

internal static class UserStatus
{
    public static string Of(User user, DateTimeOffset now) =>
        user.HasPassword ? "active"
        : user.InviteExpires is null ? "no password"
        : user.InviteExpires.ToDateTimeOffset() > now ? $"invited until {user.InviteExpires.ToDateTimeOffset():u}"
        : "invitation expired";

    public static string Kind(UserKind kind) => kind == UserKind.Bot ? "bot" : "human";

    public static IReadOnlyList<string> SplitList(string? text) =>
        (text ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
