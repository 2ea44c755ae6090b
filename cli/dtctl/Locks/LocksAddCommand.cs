using System.CommandLine;
using DeviceTrust.Cli.Dtctl.Devices;
using DeviceTrust.Client.Output;
using DeviceTrust.Client.Profiles;
using DeviceTrust.Core.Errors;
using DeviceTrust.Proto.V1;

namespace DeviceTrust.Cli.Dtctl.Locks;

/// <summary>
/// <c>dtctl locks add --user bob | --device-id X | --asset-tag Y | --role R [--message M] [--ttl 12h]</c>: cuts the
/// target off at once, on every gateway within seconds.
/// </summary>
public static class LocksAddCommand
{
    public static Command Create(ProfileStore store)
    {
        var user = new Option<string?>("--user") { Description = "Lock this user" };
        var deviceId = new Option<string?>("--device-id") { Description = "Lock this device" };
        var assetTag = new Option<string?>("--asset-tag") { Description = "Lock the device with this asset tag" };
        var role = new Option<string?>("--role") { Description = "Lock everyone who holds this role" };
        var message = new Option<string?>("--message") { Description = "What the locked-out person is told" };
        var ttl = new Option<string?>("--ttl") { Description = "How long the lock lasts, e.g. 12h (default: until removed)" };
        var command = new Command("add", "Lock a user, a device or a role") { user, deviceId, assetTag, role, message, ttl };
        command.SetAction((result, cancellationToken) => CliRunner.RunAsync(async () =>
        {
            var request = new CreateLockRequest { Message = result.GetValue(message) ?? "", Ttl = DeviceOutput.Ttl(result.GetValue(ttl), "--ttl") };
            var targets = 0;
            if (result.GetValue(user) is { } u) { request.User = u; targets++; }
            if (result.GetValue(deviceId) is { } d) { request.DeviceId = d; targets++; }
            if (result.GetValue(assetTag) is { } a) { request.AssetTag = a; targets++; }
            if (result.GetValue(role) is { } r) { request.Role = r; targets++; }
            if (targets != 1)
            {
                throw DeviceTrustException.InvalidArgument("pass exactly one of --user, --device-id, --asset-tag, --role");
            }
            using var client = AdminClient.Open(store);
            var created = await client.Locks.CreateLockAsync(request, cancellationToken: cancellationToken);
            Console.WriteLine($"Lock {created.Id} on {created.Kind} {created.Label} is in force" +
                              (created.Expires is { } e ? $" until {e.ToDateTimeOffset():u}." : " until removed (dtctl locks rm " + created.Id + ")."));
            return 0;
        }));
        return command;
    }
}
