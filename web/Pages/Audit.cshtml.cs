using System.Globalization;
using DeviceTrust.Core.Audit;
using DeviceTrust.Core.Devices;
using DeviceTrust.Core.Errors;
using DeviceTrust.Core.Roles;
using DeviceTrust.Grains.ReadModels;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.WebUtilities;

namespace DeviceTrust.Web.Pages;

/// <summary>The audit log (audit: list), filtered as dtctl audit ls filters it, a page of 100 at a time.</summary>
public sealed class AuditModel(IAuditLog log) : ConsolePage
{
    public const int PageSize = 100;
    private const string LocalTime = "yyyy-MM-ddTHH:mm";

    public string Type { get; private set; } = "";
    public string UserFilter { get; private set; } = "";
    public string Device { get; private set; } = "";
    public string Result { get; private set; } = "";
    public string Since { get; private set; } = "";
    public string Until { get; private set; } = "";
    public IReadOnlyList<AuditEntry> Events { get; private set; } = [];
    public long? NextAfter { get; private set; }

    public async Task<IActionResult> OnGetAsync(string? type, string? user, string? device, string? result, string? since, string? until, long? after)
    {
        if (await RequireAsync(Resources.Audit, "list", AuditCodes.AuditList) is { } refused)
        {
            return refused;
        }
        try
        {
            Type = (type ?? "").Trim();
            if (Type.Length > 0 && !AuditQuery.IsTypeFilter(Type))
            {
                throw DeviceTrustException.InvalidArgument(AuditQuery.TypeFilterRule);
            }
            UserFilter = DeviceFields.Text(user?.Trim(), "user");
            Device = DeviceFields.Text(device?.Trim(), "device");
            Result = result ?? "";
            bool? success = Result switch
            {
                "" => null,
                "success" => true,
                "failure" => false,
                _ => throw DeviceTrustException.InvalidArgument("result must be success or failure"),
            };
            var from = Time(since, "since");
            var to = Time(until, "until");
            (Since, Until) = (from?.ToString(LocalTime, CultureInfo.InvariantCulture) ?? "", to?.ToString(LocalTime, CultureInfo.InvariantCulture) ?? "");
            if (after is < 0)
            {
                throw DeviceTrustException.InvalidArgument("after must be an event id");
            }
            var entries = await log.ListAsync(new AuditQuery(from ?? DateTimeOffset.MinValue, to, Type is "" or "*" ? null : Type,
                UserFilter, Device, success, after ?? 0, PageSize + 1), HttpContext.RequestAborted);
            Events = entries.Take(PageSize).ToList();
            NextAfter = entries.Count > PageSize ? Events[^1].Id : null;
            return Page();
        }
        catch (DeviceTrustException e) when (e.Kind == ErrorKind.InvalidArgument)
        {
            return Invalid(e);
        }
    }

    /// <summary>This page's filters with the next page's start.</summary>
    public string NextLink(long after)
    {
        var query = new Dictionary<string, string?>(StringComparer.Ordinal)
        {
            ["type"] = Type,
            ["user"] = UserFilter,
            ["device"] = Device,
            ["result"] = Result,
            ["since"] = Since,
            ["until"] = Until,
            ["after"] = after.ToString(CultureInfo.InvariantCulture),
        };
        return QueryHelpers.AddQueryString("/audit", query.Where(kv => kv.Value is { Length: > 0 }));
    }

    /// <summary>A datetime-local field, read as UTC.</summary>
    private static DateTimeOffset? Time(string? text, string field)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }
        string[] formats = [LocalTime, "yyyy-MM-ddTHH:mm:ss"];
        return DateTimeOffset.TryParseExact(text.Trim(), formats, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time)
            ? time
            : throw DeviceTrustException.InvalidArgument($"{field} must be a date and time like 2026-12-01T09:30");
    }
}
