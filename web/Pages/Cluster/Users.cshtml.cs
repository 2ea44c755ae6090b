using DeviceTrust.Core.Audit;
using DeviceTrust.Core.Errors;
using DeviceTrust.Core.Roles;
using DeviceTrust.Grains.ReadModels;
using DeviceTrust.Grains.Users;
using Microsoft.AspNetCore.Mvc;

namespace DeviceTrust.Web.Pages.Cluster;

/// <summary>The users (user: list), as views: never a password hash or an invitation secret.</summary>
public sealed class UsersModel(IUserDirectory directory) : ConsolePage
{
    public IReadOnlyList<UserView> Users { get; private set; } = [];
    public string NextPageToken { get; private set; } = "";

    public async Task<IActionResult> OnGetAsync(string? from)
    {
        if (await RequireAsync(Resources.User, "list", AuditCodes.UserList) is { } refused)
        {
            return refused;
        }
        try
        {
            var found = await directory.ListAsync(100, from ?? "", HttpContext.RequestAborted);
            (Users, NextPageToken) = (found.Items, found.NextPageToken);
            return Page();
        }
        catch (DeviceTrustException e) when (e.Kind == ErrorKind.InvalidArgument)
        {
            return Invalid(e);
        }
    }
}
