using System.CommandLine;
using DeviceTrust.Client.Output;
using DeviceTrust.Client.Profiles;

namespace DeviceTrust.Cli.Dtsh;

/// <summary><c>dtsh logout</c>: removes the key, the certificate and the profile from this machine.</summary>
public static class LogoutCommand
{
    public static Command Create(ProfileStore store)
    {
        var command = new Command("logout", "Remove the current profile, its key and certificate");
        command.SetAction(_ => CliRunner.RunAsync(() =>
        {
            Console.WriteLine(store.Delete() ? $"Logged out (removed the profile in {store.Directory})." : "Not logged in.");
            return Task.FromResult(0);
        }));
        return command;
    }
}
