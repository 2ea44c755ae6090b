namespace DeviceTrust.Core.Audit;

/// <summary>One audit event. Empty strings for fields that do not apply.</summary>
public sealed record AuditEntry(
    DateTimeOffset Time,
    string Type,
    bool Success,
    string User,
    string DeviceId,
    string AssetTag,
    string OsType,
    string CredentialId,
    string ClientIp,
    string Message)
{
    public long Id { get; init; }

    /// <summary>The acting user's immutable id (names can be re-used; ids cannot).</summary>
    public string UserId { get; init; } = "";

    /// <summary>What the event is about when it is not the device: a user name, <c>role/NAME</c>, <c>cluster_config</c>.</summary>
    public string Target { get; init; } = "";

    /// <summary>The gRPC status of a refusal (e.g. <c>PermissionDenied</c>); empty for successes.</summary>
    public string Status { get; init; } = "";

    /// <summary>A JSON object with before/after values or counts; never secrets. Empty when there is nothing more to say.</summary>
    public string Details { get; init; } = "";
}

/// <summary>Which events to list: every filter that is set must match; the page is ordered by id, oldest first.</summary>
public sealed partial record AuditQuery(DateTimeOffset Since, DateTimeOffset? Until, string? Type, string? User, string? Device, bool? Success, long AfterId, int Limit)
{
    public const string TypeFilterRule = "type must be an event code like device.enroll, or a prefix ending in * like user.*";

    /// <summary>Whether a type filter as a person or a client typed it is one (an event code, a prefix with *, or * for all).</summary>
    public static bool IsTypeFilter(string text) => TypeFilter().IsMatch(text);

    [System.Text.RegularExpressions.GeneratedRegex(@"^[a-z0-9_.-]{1,64}\*?$|^\*$", System.Text.RegularExpressions.RegexOptions.CultureInvariant)]
    private static partial System.Text.RegularExpressions.Regex TypeFilter();

    /// <summary>A type filter ending in <c>*</c> is a prefix (<c>user.*</c>); otherwise it is exact.</summary>
    public bool TypeIsPrefix => Type?.EndsWith('*') == true;
}
