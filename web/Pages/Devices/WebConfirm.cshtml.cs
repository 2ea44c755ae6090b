using DeviceTrust.Core.Audit;
using DeviceTrust.Core.Errors;
using DeviceTrust.Core.Secrets;
using DeviceTrust.Grains.Web;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;

namespace DeviceTrust.Web.Pages.Devices;

/// <summary>
/// Device web authentication, second half: the confirmation dtsh got from the ceremony, presented in a form (never
/// in a URL). Spent once, for this user, and only by the session its web token was made for; then the session is
/// upgraded. Every refusal is audited with its real reason.
/// </summary>
public sealed class WebConfirmModel(IGrainFactory grains, ConsoleSessions sessions) : ConsolePage
{
    public IActionResult OnGet() => Redirect("/devices/web-authenticate");

    public async Task<IActionResult> OnPostAsync([FromForm] string? code)
    {
        code = code?.Trim();
        try
        {
            if (!SecretToken.LooksValid(code))
            {
                throw DeviceTrustException.InvalidArgument("the confirmation code is malformed: copy the whole code dtsh printed");
            }
            var confirmation = await grains.GetGrain<IDeviceWebTokenGrain>(SecretToken.HashHex(code!)).SpendAsync(DeviceWebTokenKind.Confirmation, Person.Id.ToString());
            if (confirmation.SessionKey != Session.Key)
            {
                throw DeviceTrustException.PermissionDenied("invalid device web confirmation: it was made for another web console session");
            }
            var device = confirmation.Device ?? throw new InvalidOperationException("a device web confirmation without its device");
            await sessions.TrustDeviceAsync(Session, device);
            await Host.AuditAsync(HttpContext, new ConsoleEvent(AuditCodes.DeviceWebConfirm, Person.Name, Person.Id.ToString(), true, "",
                $"web console session of {Person.Name} authenticated with device {device.AssetTag}")
            { DeviceId = device.DeviceId });
            return Redirect("/devices/mine");
        }
        catch (DeviceTrustException e) when (e.Kind is ErrorKind.InvalidArgument or ErrorKind.PermissionDenied or ErrorKind.FailedPrecondition)
        {
            await Host.AuditAsync(HttpContext, new ConsoleEvent(AuditCodes.DeviceWebConfirm, Person.Name, Person.Id.ToString(), false,
                e.Kind.ToString(), e.Message));
            return Message(e.Kind == ErrorKind.InvalidArgument ? StatusCodes.Status400BadRequest : StatusCodes.Status403Forbidden,
                "Not confirmed", e.Message);
        }
    }
}
