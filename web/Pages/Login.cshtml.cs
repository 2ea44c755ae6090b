using DeviceTrust.Core.Audit;
using DeviceTrust.Core.Errors;
using DeviceTrust.Core.Users;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace DeviceTrust.Web.Pages;

/// <summary>Password login: the same checks and the same audit as dtsh login; a new session (new secret) each time.</summary>
[AllowAnonymous]
public sealed class LoginModel(IConsoleHost host, ConsoleSessions sessions) : PageModel
{
    public string ClusterName => host.ClusterName;
    public string LoginToken { get; private set; } = "";
    public string UserName { get; private set; } = "";
    public string? Error { get; private set; }

    public void OnGet() => LoginToken = ConsoleSessions.LoginToken(HttpContext);

    public async Task<IActionResult> OnPostAsync([FromForm] string? user, [FromForm] string? password, [FromForm] string? csrf)
    {
        if (!ConsoleSessions.LoginTokenMatches(HttpContext, csrf))
        {
            await host.AuditAsync(HttpContext, new ConsoleEvent(AuditCodes.WebCsrfRefused, Core.Users.UserName.Printable(user ?? ""), "", false,
                "PermissionDenied", "a login form was posted without the token of its login page: refused"));
            return ConsolePage.Message(StatusCodes.Status403Forbidden, "Form refused",
                "This form did not come from this console. Reload the login page and try again.");
        }
        LoginToken = csrf!;
        UserName = Core.Users.UserName.Printable(user ?? "");
        try
        {
            var signedIn = await host.SignInAsync(HttpContext, user ?? "", password ?? "");
            await sessions.StartAsync(HttpContext, signedIn);
            ConsoleSessions.DropLoginToken(HttpContext);
            return Redirect("/");
        }
        catch (DeviceTrustException e) when (e.Kind is ErrorKind.Unauthenticated or ErrorKind.ResourceExhausted or ErrorKind.PermissionDenied or ErrorKind.InvalidArgument)
        {
            Error = e.Message;
            Response.StatusCode = e.Kind switch
            {
                ErrorKind.ResourceExhausted => StatusCodes.Status429TooManyRequests,
                ErrorKind.PermissionDenied => StatusCodes.Status403Forbidden,
                ErrorKind.InvalidArgument => StatusCodes.Status400BadRequest,
                _ => StatusCodes.Status401Unauthorized,
            };
            return Page();
        }
    }
}
