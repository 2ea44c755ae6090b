using DeviceTrust.Core.Audit;
using DeviceTrust.Core.Errors;
using DeviceTrust.Core.Roles;
using DeviceTrust.Core.Users;
using DeviceTrust.Grains;
using DeviceTrust.Grains.Roles;
using Microsoft.AspNetCore.Mvc;

namespace DeviceTrust.Web.Pages.Cluster;

/// <summary>
/// A role's YAML in an editor (role: read to see it, role: create to save it, role: delete to delete it), parsed and
/// checked by the gateway as dtctl roles create is: an error names the line, and nothing changes until it is fixed.
/// </summary>
[RequestFormLimits(ValueLengthLimit = MaxFormBytes, BufferBodyLengthLimit = MaxFormBytes, MultipartBodyLengthLimit = MaxFormBytes,
    ValueCountLimit = WebConsoleSetup.MaxFormValues, KeyLengthLimit = WebConsoleSetup.MaxFormKeyLength)]
[RequestSizeLimit(MaxFormBytes)]
public sealed class RoleEditModel(IGrainFactory grains) : ConsolePage
{
    /// <summary>A role document at its largest, percent-encoded in the worst case, with the form's few other fields.</summary>
    public const int MaxFormBytes = RoleYaml.MaxBytes * 3 + 4096;

    public const string Template = """
        kind: role
        metadata:
          name: NAME
        spec:
          allow:
            logins: []
            node_labels: {}
            rules: {}
        """;

    /// <summary>The role being edited, or null for a new role.</summary>
    public string? Name { get; private set; }
    public string Yaml { get; private set; } = Template;
    public bool Preset { get; private set; }
    public bool MayDelete { get; private set; }
    public string? Error { get; private set; }

    public async Task<IActionResult> OnGetAsync([FromQuery] string? name)
    {
        if (await RequireAsync(Resources.Role, "create", AuditCodes.RoleCreate) is { } refused)
        {
            return refused;
        }
        if (name is null)
        {
            return Page();
        }
        if (!UserName.IsValid(name) || await FindAsync(name) is not { } role)
        {
            return Message(404, "Not found", $"role \"{UserName.Printable(name)}\" not found");
        }
        (Name, Yaml, Preset) = (role.Name, role.Yaml, role.Preset);
        MayDelete = await Host.AllowsAsync(Person, Resources.Role, "delete");
        return Page();
    }

    public async Task<IActionResult> OnPostSaveAsync([FromForm] string? yaml, [FromForm] string? replacing)
    {
        Yaml = yaml ?? "";
        Name = string.IsNullOrEmpty(replacing) ? null : replacing;
        try
        {
            var saved = await Host.SaveRoleAsync(HttpContext, Person, Yaml, Name);
            return Redirect($"/roles?done=saved#role-{Uri.EscapeDataString(saved.Name)}");
        }
        catch (DeviceTrustException e)
        {
            // The editor again, with the text as it was sent and the reason: nothing was written.
            Error = e.Message;
            Response.StatusCode = StatusOf(e.Kind);
            if (Name is not null && UserName.IsValid(Name) && await FindAsync(Name) is { } role)
            {
                Preset = role.Preset;
                MayDelete = await Host.AllowsAsync(Person, Resources.Role, "delete");
            }
            return Page();
        }
    }

    public async Task<IActionResult> OnPostDeleteAsync([FromForm] string? name)
    {
        if (!Confirmed())
        {
            return NotConfirmed();
        }
        return await ActAsync(() => Host.DeleteRoleAsync(HttpContext, Person, name ?? ""), "/roles?done=deleted");
    }

    private async Task<RoleDocument?> FindAsync(string name) =>
        (await grains.GetGrain<IRoleRegistryGrain>(GrainKeys.Cluster).GetSnapshotAsync()).Roles.FirstOrDefault(r => r.Name == name);
}
