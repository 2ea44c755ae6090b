using System.CommandLine;
using DeviceTrust.Client.Output;
using DeviceTrust.Client.Profiles;
using DeviceTrust.Proto.V1;

namespace DeviceTrust.Cli.Dtctl.Users;

/// <summary>
/// <c>dtctl users reset NAME</c>: clears the user's password, voids every certificate issued to them so far, and
/// prints a new invitation (for a forgotten password, or credentials that may be in the wrong hands).
/// </summary>
public static class UsersResetCommand
{
    public static Command Create(ProfileStore store)
    {
        var name = new Argument<string>("name") { Description = "User name" };
        var ttl = new Option<string?>("--ttl") { Description = "How long the new invitation stays valid (default 1h, at most 7d)" };
        var command = new Command("reset", "Reset a user's password and void their certificates; prints a new invitation") { name, ttl };
        command.SetAction((result, cancellationToken) => CliRunner.RunAsync(async () =>
        {
            var request = new ResetUserRequest { Name = result.GetValue(name), InviteTtl = Devices.DeviceOutput.Ttl(result.GetValue(ttl), "--ttl") };
            using var client = AdminClient.Open(store);
            var response = await client.Users.ResetUserAsync(request, cancellationToken: cancellationToken);
            var expires = response.User.InviteExpires.ToDateTimeOffset();
            Console.WriteLine(
                $"""
                 User "{response.User.Name}" has been reset: the password is cleared and every certificate issued before no longer works.
                 Share this command with them; the invitation works once and expires in {Durations.Format(expires - DateTimeOffset.UtcNow + TimeSpan.FromSeconds(1))} (at {expires:u}):

                 dtsh login --proxy {client.Profile.Proxy} --invite {response.InviteToken}
                 """);
            return 0;
        }));
        return command;
    }
}
