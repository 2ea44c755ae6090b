using System.CommandLine;
using System.Security.Cryptography.X509Certificates;
using DeviceTrust.Client.Connection;
using DeviceTrust.Client.Devices;
using DeviceTrust.Client.Login;
using DeviceTrust.Client.Output;
using DeviceTrust.Client.Profiles;
using DeviceTrust.Core.Errors;
using DeviceTrust.Core.Invitations;

namespace DeviceTrust.Cli.Dtsh;

/// <summary>
/// <c>dtsh login</c>: accept an invitation (--invite) or log in with a password. The gateway's CA comes from the
/// invitation's pin, --ca-pin, --ca-file or an earlier login to the same proxy; there is no way to skip checking it.
/// </summary>
public static class LoginCommand
{
    public static Command Create(ProfileStore store)
    {
        var proxy = new Option<string?>("--proxy") { Description = "Gateway address, host:port (default: the current profile's)" };
        var user = new Option<string?>("--user") { Description = "User name (default: the current profile's)" };
        var invite = new Option<string?>("--invite") { Description = "Accept this invitation token and choose a password" };
        var caPin = new Option<string?>("--ca-pin") { Description = "Trust the cluster CA whose key hashes to this pin (sha256:…, printed by the gateway at start)" };
        var caFile = new Option<string?>("--ca-file") { Description = "Trust the cluster CA in this PEM file" };
        var ttl = new Option<string?>("--ttl") { Description = "Certificate lifetime, e.g. 8h (at most the cluster's limit, 12h by default)" };
        var command = new Command("login", "Log in to a cluster and get a short-lived certificate") { proxy, user, invite, caPin, caFile, ttl };
        command.SetAction((result, cancellationToken) => CliRunner.RunAsync(async () =>
        {
            TimeSpan? lifetime = null;
            if (result.GetValue(ttl) is { } ttlText)
            {
                lifetime = Durations.TryParse(ttlText, out var parsed) ? parsed : throw DeviceTrustException.InvalidArgument($"--ttl \"{ttlText}\" is not a duration like 8h or 30m");
            }
            var previous = store.Exists ? store.Load() : null;
            var address = result.GetValue(proxy) ?? previous?.Proxy
                          ?? throw DeviceTrustException.InvalidArgument("--proxy is required (no current profile)");
            address = GatewayAddress.Normalize(address);
            Profile profile;
            if (result.GetValue(invite) is { } token)
            {
                var invitation = InvitationToken.Decode(token);
                var password = PasswordPrompt.ReadNew($"Choose a password for {invitation.User}: ");
                profile = await LoginFlow.AcceptInvitationAsync(address, invitation, password, lifetime, cancellationToken);
            }
            else
            {
                var name = result.GetValue(user) ?? previous?.User
                           ?? throw DeviceTrustException.InvalidArgument("--user is required (no current profile)");
                var cas = await TrustedCasAsync(store, address, result.GetValue(caPin), result.GetValue(caFile), cancellationToken);
                var password = PasswordPrompt.Read($"Enter password for DeviceTrust user {name}: ");
                profile = await LoginFlow.LoginAsync(address, cas, name, password, lifetime, cancellationToken);
            }
            store.Save(profile);
            if (profile.AutoEnroll && new DeviceCredentialStore(store.Directory).Enrolled is null)
            {
                await AutoEnrollAsync(store, profile, cancellationToken);
            }
            var credentials = new DeviceCredentialStore(store.Directory);
            if (credentials.Enrolled is not null && profile.DeviceTrustMode != "off")
            {
                try
                {
                    profile = await DeviceLogin.AuthenticateAsync(profile, credentials, cancellationToken);
                    store.Save(profile);
                }
                catch (Exception e) when (e is DeviceTrustException or Grpc.Core.RpcException or Tpm.Device.TpmDeviceException)
                {
                    // The login itself worked; resources that require a trusted device will say so.
                    Console.Error.WriteLine($"WARNING: device authentication failed: {(e is Grpc.Core.RpcException rpc ? rpc.Status.Detail : e.Message)}");
                }
            }
            Console.Write(StatusCommand.Describe(profile, DateTimeOffset.UtcNow));
            return 0;
        }));
        return command;
    }

    /// <summary>
    /// The cluster lets this user auto-enroll and this device is not enrolled: try, once. A refusal does not fail the
    /// login (the device may simply not be in the inventory); it is said, and the audit log has the reason.
    /// </summary>
    private static async Task AutoEnrollAsync(ProfileStore store, Profile profile, CancellationToken cancellationToken)
    {
        try
        {
            var device = await Device.DeviceEnrollCommand.EnrollAsync(store, profile, enrollToken: null, software: false,
                Device.DeviceEnrollCommand.CollectWithSerial(), cancellationToken);
            Console.Error.WriteLine($"Device \"{device.AssetTag}\"/{DeviceText.Os(device.OsType)} enrolled (auto-enrollment)");
        }
        catch (Exception e) when (e is DeviceTrustException or Grpc.Core.RpcException or Tpm.Device.TpmDeviceException)
        {
            Console.Error.WriteLine($"NOTE: this device was not auto-enrolled: {(e is Grpc.Core.RpcException rpc ? rpc.Status.Detail : e.Message)}");
        }
    }

    private static async Task<IReadOnlyList<X509Certificate2>> TrustedCasAsync(ProfileStore store, string proxy, string? pin, string? file, CancellationToken cancellationToken)
    {
        if (file is not null)
        {
            var ca = X509CertificateLoader.LoadCertificateFromFile(file);
            if (pin is not null && !Core.Certificates.CaPin.Matches(ca, pin))
            {
                throw DeviceTrustException.PermissionDenied($"the CA in {file} does not match --ca-pin");
            }
            return [ca];
        }
        if (pin is not null)
        {
            return [await CaDiscovery.FetchPinnedAsync(proxy, pin, cancellationToken)];
        }
        return store.TrustedCasFor(proxy)
               ?? throw DeviceTrustException.FailedPrecondition(
                   $"this machine does not know the cluster CA of {proxy} yet: pass --ca-pin sha256:… (the gateway prints it at start) or --ca-file");
    }
}
