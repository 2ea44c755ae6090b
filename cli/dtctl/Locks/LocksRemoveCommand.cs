using System.CommandLine;
using DeviceTrust.Client.Output;
using DeviceTrust.Client.Profiles;
using DeviceTrust.Proto.V1;

namespace DeviceTrust.Cli.Dtctl.Locks;

/// <summary><c>dtctl locks rm ID</c>: lifts a lock.</summary>
public static class LocksRemoveCommand
{
    public static Command Create(ProfileStore store)
    {
        var id = new Argument<string>("id") { Description = "The lock's id (dtctl locks ls)" };
        var command = new Command("rm", "Remove a lock") { id };
        command.SetAction((result, cancellationToken) => CliRunner.RunAsync(async () =>
        {
            using var client = AdminClient.Open(store);
            await client.Locks.DeleteLockAsync(new DeleteLockRequest { Id = result.GetValue(id) }, cancellationToken: cancellationToken);
            Console.WriteLine($"Lock {result.GetValue(id)} removed.");
            return 0;
        }));
        return command;
    }
}
