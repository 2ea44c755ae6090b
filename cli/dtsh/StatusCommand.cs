using System.CommandLine;
using System.Text;
using DeviceTrust.Client.Output;
using DeviceTrust.Client.Profiles;
using DeviceTrust.Core.Certificates;

namespace DeviceTrust.Cli.Dtsh;

/// <summary><c>dtsh status</c>: the current profile, like <c>tsh status</c>. Reads local files only.</summary>
public static class StatusCommand
{
    public static Command Create(ProfileStore store)
    {
        var command = new Command("status", "Show the current profile");
        command.SetAction(_ => CliRunner.RunAsync(() =>
        {
            var profile = store.Load();
            if (profile is null)
            {
                Console.Error.WriteLine("Not logged in.");
                return Task.FromResult(1);
            }
            Console.Write(Describe(profile, DateTimeOffset.UtcNow));
            return Task.FromResult(0);
        }));
        return command;
    }

    public static string Describe(Profile profile, DateTimeOffset now)
    {
        var left = profile.ValidUntil - now;
        var validity = left > TimeSpan.Zero ? $"valid for {Durations.Format(TimeSpan.FromSeconds(Math.Floor(left.TotalSeconds)))}" : "EXPIRED";
        var extensions = DeviceExtensions.ListOurs(profile.Certificate);
        var text = new StringBuilder();
        text.AppendLine($"> Profile URL:        {string.Join(", ", profile.Proxy.Split(',').Select(p => "https://" + p))}");
        text.AppendLine($"  Logged in as:       {profile.User}");
        text.AppendLine($"  Cluster:            {profile.Cluster}");
        text.AppendLine($"  Roles:              {(profile.Roles.Count == 0 ? "(none)" : string.Join(", ", profile.Roles))}");
        text.AppendLine($"  Valid until:        {profile.ValidUntil:yyyy-MM-dd HH:mm:ss} +0000 UTC [{validity}]");
        text.AppendLine($"  Logins:             {(profile.SshCertificate is { } ssh ? string.Join(", ", ssh.Principals) : "(none: no SSH certificate)")}");
        text.AppendLine($"  Extensions:         {(extensions.Count == 0 ? "(none)" : string.Join(", ", extensions.Select(e => $"{e.Key}={e.Value}")))}");
        return text.ToString();
    }
}
