using DeviceTrust.Core.Audit;
using Microsoft.AspNetCore.Mvc;

namespace DeviceTrust.Web.Pages;

/// <summary>Ends the session on every gateway (POST only, with the session's CSRF token, checked by <see cref="ConsoleGate"/>).</summary>
public sealed class LogoutModel(ConsoleSessions sessions) : ConsolePage
{
    public IActionResult OnGet() => Redirect("/");

    public async Task<IActionResult> OnPostAsync()
    {
        await sessions.EndAsync(HttpContext);
        await Host.AuditAsync(HttpContext, new ConsoleEvent(AuditCodes.UserLogout, Person.Name, Person.Id.ToString(), true, "", "web console session ended by the user"));
        return Redirect("/login");
    }
}
