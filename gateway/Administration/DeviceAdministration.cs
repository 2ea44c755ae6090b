using System.Net;
using DeviceTrust.Core.Devices;
using DeviceTrust.Core.Secrets;
using DeviceTrust.Gateway.Audit;
using DeviceTrust.Gateway.Authentication;
using DeviceTrust.Gateway.Hosting;
using DeviceTrust.Gateway.Policy;
using DeviceTrust.Grains.Inventory;
using DeviceTrust.Grains.Tokens;
using DeviceTrust.Grains.Users;

namespace DeviceTrust.Gateway.Administration;

/// <summary>An enrollment token as minted: shown once to whoever asked, stored only as its hash.</summary>
public sealed record MintedEnrollToken(string Token, DateTimeOffset Expires);

/// <summary>
/// What an administrator does to a device, for the RPCs and the web console alike: the same checks, rate limits and
/// audit details whichever way it is asked. The caller has checked the role verb and owns <paramref name="audit"/>:
/// these methods describe the change on it and leave writing it to the caller (success or failure).
/// </summary>
public sealed class DeviceAdministration(IGrainFactory grains, RateLimits limits, DeviceStates deviceStates, TimeProvider time)
{
    /// <summary>Refuses a token before any work when the address or the user has made too many lately.</summary>
    public void AdmitToken(IPAddress? peer, UserView actor)
    {
        limits.Admit(nameof(RateLimitsOptions.TokensPerAddress), ClientAddress.LimitKey(peer), "enrollment tokens from your address");
        limits.Admit(nameof(RateLimitsOptions.TokensPerUser), actor.Id.ToString(), "enrollment tokens for your user");
    }

    /// <summary>A single-use enrollment token for a device that may enroll (not enrolled now), checked against the inventory if data is given.</summary>
    public async Task<MintedEnrollToken> CreateEnrollTokenAsync(AuditRecord audit, UserView actor, IPAddress? peer, Guid id, TimeSpan ttl,
        CollectedData? data = null)
    {
        audit.DeviceId = id.ToString();
        AdmitToken(peer, actor);
        var device = await grains.GetGrain<IDeviceGrain>(id).EnsureEnrollableAsync();
        audit.Describe(device);
        if (data is not null)
        {
            DeviceChecks.EnsureMatchesInventory(device, data);
        }
        var token = await MintTokenAsync(device, ttl, actor);
        audit.Detail("expires", token.Expires);
        audit.Message = $"enrollment token created for {device.AssetTag}/{device.OsType.ToText()}, expires {token.Expires:u}";
        return token;
    }

    /// <summary>Mints a token for a device already checked (and admitted by <see cref="AdmitToken"/>).</summary>
    public async Task<MintedEnrollToken> MintTokenAsync(DeviceRecord device, TimeSpan ttl, UserView actor)
    {
        var token = SecretToken.New();
        var expires = time.GetUtcNow() + ttl;
        await grains.GetGrain<IEnrollTokenGrain>(SecretToken.HashHex(token)).CreateAsync(device.Id, expires, actor.Name, autoEnroll: false);
        return new MintedEnrollToken(token, expires);
    }

    /// <summary>Removes a device from the inventory (its certificates stop working at the next access check).</summary>
    public async Task<DeviceRecord> DeleteAsync(AuditRecord audit, Guid id)
    {
        audit.DeviceId = id.ToString();
        var removed = await grains.GetGrain<IDeviceGrain>(id).DeleteAsync();
        deviceStates.Invalidate(id);
        // If this stops half-way, the tag points at a device that is gone and the next creation takes it over.
        await grains.GetGrain<IAssetTagGrain>(removed.AssetTagKey).ReleaseAsync(id);
        audit.Describe(removed);
        audit.Detail("enroll_status", removed.EnrollStatus.ToString()).Detail("owner", removed.Owner);
        audit.Message = $"device {removed.AssetTag}/{removed.OsType.ToText()} removed from the inventory";
        return removed;
    }

    /// <summary>Applies an update that is not empty (unenroll, profile, users, EK pin) and records every field it changed.</summary>
    public async Task<DeviceRecord> UpdateAsync(AuditRecord audit, Guid id, DeviceUpdate update)
    {
        audit.DeviceId = id.ToString();
        var change = await grains.GetGrain<IDeviceGrain>(id).UpdateAsync(update);
        deviceStates.Invalidate(id);
        var (before, after) = (change.Before, change.After);
        audit.Describe(after);
        audit.CredentialId = before.Credential?.Id ?? "";
        audit.Change("enroll_status", before.EnrollStatus.ToString(), after.EnrollStatus.ToString())
            .Change("owner", before.Owner, after.Owner)
            .Change("users", before.Users.Select(u => u.Name).ToList(), after.Users.Select(u => u.Name).ToList())
            .Change("profile", before.Profile, after.Profile)
            .Change("pinned_ek", Pinned(before), Pinned(after))
            .Change("attestation", before.Credential?.AttestationType.ToText(), after.Credential?.AttestationType.ToText());
        var what = new List<string>();
        if (update.Unenroll)
        {
            what.Add("unenrolled");
        }
        if (update.PinnedEkSha256 is { } pin)
        {
            what.Add(pin.Length == 0 ? "EK unpinned" : $"EK pinned ({EkPin.Text(pin)})");
        }
        if (update.Profile is not null)
        {
            what.Add("profile updated");
        }
        if (update.AddUsers.Count > 0)
        {
            what.Add($"users added: {string.Join(", ", update.AddUsers.Select(u => u.Name))}");
        }
        if (update.RemoveUsers.Count > 0)
        {
            what.Add($"users removed: {string.Join(", ", update.RemoveUsers)}");
        }
        audit.Message = $"device {after.AssetTag}/{after.OsType.ToText()} {string.Join("; ", what)}";
        return after;
    }

    private static string Pinned(DeviceRecord device) => device.PinnedEkSha256.Length == 0 ? "" : EkPin.Text(device.PinnedEkSha256);
}
