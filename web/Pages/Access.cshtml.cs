using DeviceTrust.Core.Errors;
using Microsoft.AspNetCore.Mvc;

namespace DeviceTrust.Web.Pages;

/// <summary>
/// The signed-in user's own access to a resource, decided as for a certificate of this session: what needs a trusted
/// device is allowed only once the session proved one (device web authentication). For everyone, like CheckMyAccess.
/// </summary>
public sealed class AccessModel : ConsolePage
{
    public static readonly string[] Kinds = ["ssh", "app", "db", "kube", "desktop"];

    public string Kind { get; private set; } = "ssh";
    public string Name { get; private set; } = "";
    public string Login { get; private set; } = "";
    public ConsoleDecision? Decision { get; private set; }

    public async Task<IActionResult> OnGetAsync(string? kind, string? name, string? login)
    {
        (Kind, Name, Login) = (kind ?? "ssh", name?.Trim() ?? "", login?.Trim() ?? "");
        if (Name.Length == 0)
        {
            return Page();
        }
        try
        {
            Decision = await Host.CheckMyAccessAsync(HttpContext, Person, DeviceTrusted ? Session.View.Device : null, Kind, Name, Login);
            return Page();
        }
        catch (DeviceTrustException e) when (e.Kind is ErrorKind.InvalidArgument or ErrorKind.NotFound)
        {
            return Message(e.Kind == ErrorKind.NotFound ? 404 : 400, "Not checked", e.Message);
        }
    }
}
