using DeviceTrust.Core.Audit;
using DeviceTrust.Core.Errors;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Filters;

namespace DeviceTrust.Web;

/// <summary>
/// Every console page passes here before its handler: security headers on every answer; then, except on the login
/// page, a live session (else to the login page) whose user is not locked (else the session ends), and on every
/// POST the session's CSRF token (else 403, audited). The page gets the session and what its shield says.
/// </summary>
public sealed class ConsoleGate(ConsoleSessions sessions, IConsoleHost host) : IAsyncPageFilter
{
    public Task OnPageHandlerSelectionAsync(PageHandlerSelectedContext context) => Task.CompletedTask;

    public async Task OnPageHandlerExecutionAsync(PageHandlerExecutingContext context, PageHandlerExecutionDelegate next)
    {
        var http = context.HttpContext;
        SecurityHeaders(http.Response);
        if (context.ActionDescriptor.EndpointMetadata.OfType<IAllowAnonymous>().Any())
        {
            await next();
            return;
        }
        ConsoleSession? session;
        try
        {
            session = await sessions.ResolveAsync(http);
        }
        catch (DeviceTrustException locked) when (locked.Kind == ErrorKind.PermissionDenied)
        {
            await sessions.EndAsync(http);
            context.Result = ConsolePage.Message(StatusCodes.Status403Forbidden, "Session ended", locked.Message);
            return;
        }
        if (session is null)
        {
            context.Result = new RedirectResult("/login");
            return;
        }
        if (HttpMethods.IsPost(http.Request.Method))
        {
            var form = http.Request.HasFormContentType ? await http.Request.ReadFormAsync(http.RequestAborted) : null;
            if (!ConsoleSessions.CsrfMatches(session, form?[ConsoleSessions.CsrfField].ToString()))
            {
                await host.AuditAsync(http, new ConsoleEvent(AuditCodes.WebCsrfRefused, session.User.Name, session.User.Id.ToString(), false,
                    "PermissionDenied", $"a form was posted to {http.Request.Path} without this session's CSRF token: refused"));
                context.Result = ConsolePage.Message(StatusCodes.Status403Forbidden, "Form refused",
                    "This form did not come from this console session. Reload the page and try again.");
                return;
            }
        }
        if (context.HandlerInstance is ConsolePage page)
        {
            page.Session = session;
            page.TrustedDeviceRequiredBy = await host.TrustedDeviceRequiredByAsync(session.User);
            page.DeviceDistrusted = session.View.Device is { } device ? await host.DeviceDistrustedAsync(session.User, device) : null;
            page.Host = host;
            var navigation = new List<(string, string)>();
            foreach (var (href, label, resource, verb) in ConsolePage.Pages)
            {
                if (resource is null || await host.AllowsAsync(session.User, resource, verb!))
                {
                    navigation.Add((href, label));
                }
            }
            page.Navigation = navigation;
        }
        await next();
    }

    /// <summary>No script at all, nothing framed, nothing cached, no referrer leaving the console.</summary>
    public static void SecurityHeaders(HttpResponse response)
    {
        response.Headers.ContentSecurityPolicy =
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
        response.Headers.XContentTypeOptions = "nosniff";
        response.Headers["Referrer-Policy"] = "no-referrer";
        response.Headers.CacheControl = "no-store";
        response.Headers.XFrameOptions = "DENY";
    }
}
