using DeviceTrust.Core.Audit;
using DeviceTrust.Core.Devices;
using DeviceTrust.Core.Errors;
using DeviceTrust.Core.Secrets;
using DeviceTrust.Grains.ReadModels;
using DeviceTrust.Grains.Web;
using Microsoft.AspNetCore.Mvc;

namespace DeviceTrust.Web.Pages.Devices;

/// <summary>
/// Device web authentication, first half: a single-use device web token (5 minutes unless configured shorter) for this session, this user and this
/// browser's address, handed to dtsh as a devicetrust:// address (shown only in the answer to a POST, never in a URL).
/// </summary>
public sealed class WebAuthenticateModel(IGrainFactory grains, IDeviceInventory inventory, TimeProvider time, WebConsoleOptions options) : ConsolePage
{
    public const string Scheme = "devicetrust";

    public bool HasDevice { get; private set; }

    /// <summary>How long the token and its confirmation code work, as the page says it.</summary>
    public string Lifetime => options.DeviceTokenLifetimeText;

    /// <summary>The devicetrust:// address for dtsh, once a token was made.</summary>
    public string? Address { get; private set; }

    public async Task OnGetAsync() => HasDevice = await HasEnrolledDeviceAsync();

    public async Task<IActionResult> OnPostAsync()
    {
        if (DeviceTrusted)
        {
            return Page();
        }
        if (!(HasDevice = await HasEnrolledDeviceAsync()))
        {
            return Page();
        }
        try
        {
            await Host.AdmitDeviceWebTokenAsync(HttpContext, Person);
        }
        catch (DeviceTrustException e) when (e.Kind == ErrorKind.ResourceExhausted)
        {
            return Refused(e);
        }
        var token = SecretToken.New();
        await grains.GetGrain<IDeviceWebTokenGrain>(SecretToken.HashHex(token)).CreateAsync(new DeviceWebToken(DeviceWebTokenKind.WebToken,
            Session.Key, Person.Id.ToString(), Person.Name, ConsoleAddress.Of(HttpContext), time.GetUtcNow() + options.DeviceTokenLifetime));
        await Host.AuditAsync(HttpContext, new ConsoleEvent(AuditCodes.DeviceWebTokenCreate, Person.Name, Person.Id.ToString(), true, "",
            $"device web token made for a web console session of {Person.Name}, valid {options.DeviceTokenLifetimeText} from {ConsoleAddress.Of(HttpContext)}"));
        Address = $"{Scheme}://web-authenticate?cluster={Uri.EscapeDataString(Host.ClusterName)}&token={token}";
        return Page();
    }

    private async Task<bool> HasEnrolledDeviceAsync() =>
        (await inventory.OwnedByAsync(Person.Id.ToString(), HttpContext.RequestAborted)).Any(d => d.EnrollStatus == EnrollStatus.Enrolled);
}
