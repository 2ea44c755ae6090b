using System.CommandLine;
using DeviceTrust.Client.Output;
using DeviceTrust.Client.Profiles;
using DeviceTrust.Core.Errors;
using DeviceTrust.Proto.V1;

namespace DeviceTrust.Cli.Dtctl.Config;

/// <summary><c>dtctl config set KEY VALUE</c>: <c>device-trust-mode off|optional|required|required-for-humans</c>, <c>auto-enroll true|false</c>.</summary>
public static class ConfigSetCommand
{
    public static Command Create(ProfileStore store)
    {
        var key = new Argument<string>("key") { Description = "device-trust-mode or auto-enroll" };
        var value = new Argument<string>("value") { Description = "The new value" };
        var command = new Command("set", "Change one cluster setting") { key, value };
        command.SetAction((result, cancellationToken) => CliRunner.RunAsync(async () =>
        {
            var text = result.GetValue(value)!;
            var request = new UpdateDeviceTrustConfigRequest();
            switch (result.GetValue(key))
            {
                case "device-trust-mode":
                    request.Mode = text;
                    break;
                case "auto-enroll":
                    request.AutoEnroll = text switch
                    {
                        "true" => true,
                        "false" => false,
                        _ => throw DeviceTrustException.InvalidArgument($"auto-enroll must be true or false, not \"{text}\""),
                    };
                    break;
                case var other:
                    throw DeviceTrustException.InvalidArgument($"unknown setting \"{other}\": use device-trust-mode or auto-enroll");
            }
            using var client = AdminClient.Open(store);
            var config = await client.Config.UpdateDeviceTrustConfigAsync(request, cancellationToken: cancellationToken);
            Console.Write("Cluster configuration updated:\n" + ConfigGetCommand.Describe(config));
            return 0;
        }));
        return command;
    }
}
