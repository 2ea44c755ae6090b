using System.CommandLine;
using DeviceTrust.Client.Output;
using DeviceTrust.Client.Profiles;
using DeviceTrust.Core.Errors;
using DeviceTrust.Proto.V1;
using Google.Protobuf.WellKnownTypes;

namespace DeviceTrust.Cli.Dtctl.Users;

/// <summary><c>dtctl users add NAME --roles a,b</c>: creates the user and prints the one-time invitation.</summary>
public static class UsersAddCommand
{
    public static Command Create(ProfileStore store)
    {
        var name = new Argument<string>("name") { Description = "User name" };
        var roles = new Option<string>("--roles") { Description = "Comma-separated roles, e.g. access,require-trusted-device", Required = true };
        var kind = new Option<string>("--kind") { Description = "human or bot", DefaultValueFactory = _ => "human" };
        var ttl = new Option<string?>("--ttl") { Description = "How long the invitation stays valid (default 1h, at most 7d)" };
        var command = new Command("add", "Add a user and print an invitation for them") { name, roles, kind, ttl };
        command.SetAction((result, cancellationToken) => CliRunner.RunAsync(async () =>
        {
            var request = new CreateUserRequest
            {
                Name = result.GetValue(name),
                Kind = result.GetValue(kind) switch
                {
                    "human" => UserKind.Human,
                    "bot" => UserKind.Bot,
                    var other => throw DeviceTrustException.InvalidArgument($"--kind \"{other}\" is unknown: use human or bot"),
                },
            };
            request.Roles.AddRange(UserStatus.SplitList(result.GetValue(roles)));
            if (result.GetValue(ttl) is { } ttlText)
            {
                request.InviteTtl = Durations.TryParse(ttlText, out var parsed)
                    ? Duration.FromTimeSpan(parsed)
                    : throw DeviceTrustException.InvalidArgument($"--ttl \"{ttlText}\" is not a duration like 1h");
            }
            using var client = AdminClient.Open(store);
            var response = await client.Users.CreateUserAsync(request, cancellationToken: cancellationToken);
            var expires = response.User.InviteExpires.ToDateTimeOffset();
            Console.WriteLine(
                $"""
                 User "{response.User.Name}" has been created but requires a password. Share this command with them; the invitation
                 works once and expires in {Durations.Format(expires - DateTimeOffset.UtcNow + TimeSpan.FromSeconds(1))} (at {expires:u}):

                 dtsh login --proxy {client.Profile.Proxy} --invite {response.InviteToken}
                 """);
            return 0;
        }));
        return command;
    }
}
