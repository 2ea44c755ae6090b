using Microsoft.AspNetCore.Mvc;

namespace DeviceTrust.Web.Pages;

public sealed class IndexModel : ConsolePage
{
    public IActionResult OnGet() => Redirect("/devices/mine");
}
