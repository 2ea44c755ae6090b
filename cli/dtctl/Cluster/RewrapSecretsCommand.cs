using System.CommandLine;
using DeviceTrust.Client.Output;
using DeviceTrust.Client.Profiles;
using DeviceTrust.Proto.V1;

namespace DeviceTrust.Cli.Dtctl.Cluster;

/// <summary>
/// <c>dtctl cluster rewrap-secrets</c>: the middle step of a master key rotation (docs/operations.md), once every
/// silo and gateway runs with the new key and the old one as the previous.
/// </summary>
public static class RewrapSecretsCommand
{
    public static Command Create(ProfileStore store)
    {
        var command = new Command("rewrap-secrets",
            "Re-encrypt the stored secrets (the CA keys) under the current master key, after every node was given the new key and the previous one");
        command.SetAction((_, cancellationToken) => CliRunner.RunAsync(async () =>
        {
            using var client = AdminClient.Open(store);
            var response = await client.Config.RewrapSecretsAsync(new RewrapSecretsRequest(), cancellationToken: cancellationToken);
            foreach (var name in response.Rewrapped)
            {
                Console.WriteLine($"re-encrypted under the current master key: {name}");
            }
            foreach (var name in response.Current)
            {
                Console.WriteLine($"already under the current master key: {name}");
            }
            Console.WriteLine("Every stored secret is under the current master key: remove DEVICETRUST_PREVIOUS_MASTER_KEY from every node and roll them.");
            return 0;
        }));
        return command;
    }
}
