using DeviceTrust.Core.Errors;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.AspNetCore.Mvc.ViewFeatures;

namespace DeviceTrust.Web;

/// <summary>What every signed-in page knows (set by <see cref="ConsoleGate"/> before its handler runs).</summary>
public abstract class ConsolePage : PageModel
{
    public ConsoleSession Session { get; internal set; } = null!;

    /// <summary>What requires this user to use a trusted device, or null: the yellow shield when the session is not device-trusted.</summary>
    public string? TrustedDeviceRequiredBy { get; internal set; }

    internal IConsoleHost Host { get; set; } = null!;

    /// <summary>The navigation this user's roles open: everyone's pages, then the administration pages they may read.</summary>
    public IReadOnlyList<(string Href, string Label)> Navigation { get; internal set; } = [];

    /// <summary>Every page of the console, with the verb its listing needs (null: everyone's).</summary>
    internal static readonly (string Href, string Label, string? Resource, string? Verb)[] Pages =
    [
        ("/devices/mine", "My devices", null, null),
        ("/devices", "Devices", Core.Roles.Resources.Device, "list"),
        ("/access", "Access check", null, null),
        ("/audit", "Audit log", Core.Roles.Resources.Audit, "list"),
        ("/users", "Users", Core.Roles.Resources.User, "list"),
        ("/roles", "Roles", Core.Roles.Resources.Role, "list"),
        ("/locks", "Locks", Core.Roles.Resources.Lock, "list"),
        ("/nodes", "Nodes", Core.Roles.Resources.Node, "list"),
        ("/settings", "Settings", Core.Roles.Resources.ClusterConfig, "read"),
    ];

    public ConsoleUser Person => Session.User;

    /// <summary>Whether this session proved a trusted device that is still trusted (device web authentication).</summary>
    public bool DeviceTrusted => Session.View.Device is not null && DeviceDistrusted is null;

    /// <summary>Why the device this session proved is no longer trusted, or null.</summary>
    public string? DeviceDistrusted { get; internal set; }

    /// <summary>
    /// Whether the user's roles allow the verb; when they do not, the refusal is recorded under the RPC's own event
    /// code, as the gRPC API records it, and the page answers 403 with the reason.
    /// </summary>
    protected async Task<IActionResult?> RequireAsync(string resource, string verb, string code)
    {
        if (await Host.AllowsAsync(Person, resource, verb))
        {
            return null;
        }
        var reason = Core.Roles.RoleSet.DeniedReason(Person.Name, Person.Roles, resource, verb);
        await Host.AuditAsync(HttpContext, new ConsoleEvent(code, Person.Name, Person.Id.ToString(), false, "PermissionDenied", reason));
        return Message(403, "Not allowed", reason);
    }

    protected static IActionResult Invalid(DeviceTrustException e) => Message(400, "Not understood", e.Message);

    /// <summary>
    /// The page for an action the cluster refused (the host has recorded the refusal): the status an RPC would have
    /// answered, as HTTP, and its sentence; a rate limit says when to retry.
    /// </summary>
    protected IActionResult Refused(DeviceTrustException e)
    {
        if (e.RetryAfter is { } retry)
        {
            Response.Headers.RetryAfter = Math.Ceiling(retry.TotalSeconds).ToString("F0", System.Globalization.CultureInfo.InvariantCulture);
        }
        return Message(StatusOf(e.Kind), "Not done", e.Message);
    }

    /// <summary>Runs an action the cluster may refuse, then redirects to <paramref name="then"/> (post, redirect, get).</summary>
    protected async Task<IActionResult> ActAsync(Func<Task> action, string then)
    {
        try
        {
            await action();
        }
        catch (DeviceTrustException e)
        {
            return Refused(e);
        }
        return Redirect(then);
    }

    public static int StatusOf(ErrorKind kind) => kind switch
    {
        ErrorKind.InvalidArgument => 400,
        ErrorKind.Unauthenticated => 401,
        ErrorKind.PermissionDenied => 403,
        ErrorKind.NotFound => 404,
        ErrorKind.AlreadyExists or ErrorKind.FailedPrecondition => 409,
        ErrorKind.ResourceExhausted => 429,
        _ => 503,
    };

    /// <summary>A confirmation box a destructive form must carry ticked; the browser requires it, and so does the server.</summary>
    public const string ConfirmField = "confirm";

    protected bool Confirmed() => Request.HasFormContentType && Request.Form[ConfirmField] == "yes";

    protected static IActionResult NotConfirmed() => Message(400, "Not done", "tick the box to confirm, then send the form again");

    /// <summary>A short page with a heading and one sentence (Razor-encoded), for refusals.</summary>
    public static IActionResult Message(int status, string title, string text) => new ViewResult
    {
        ViewName = "Message",
        StatusCode = status,
        ViewData = new ViewDataDictionary(new Microsoft.AspNetCore.Mvc.ModelBinding.EmptyModelMetadataProvider(), new Microsoft.AspNetCore.Mvc.ModelBinding.ModelStateDictionary())
        {
            ["Title"] = title,
            ["Text"] = text,
        },
    };
}
