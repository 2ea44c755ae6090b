using System.Diagnostics;
using DeviceTrust.Core.Errors;
using DeviceTrust.Core.Secrets;

namespace DeviceTrust.Cli.Dtctl.Editing;

/// <summary>
/// <c>$VISUAL</c> or <c>$EDITOR</c> (vi when neither is set) on a private copy of a document, like <c>tctl edit</c>.
/// The editor may carry arguments (<c>code --wait</c>); the file is 0600 in a 0700 folder.
/// </summary>
public sealed class ExternalEditor : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "dtctl-edit-" + Guid.NewGuid().ToString("N"));

    public string File { get; private set; } = "";

    /// <summary>The edited text, or null when it was saved unchanged.</summary>
    public async Task<string?> EditAsync(string text, string fileName, CancellationToken cancellationToken)
    {
        File = Path.Combine(_directory, fileName);
        SecureFile.WriteAllText(File, text);
        var editor = Environment.GetEnvironmentVariable("VISUAL") is { Length: > 0 } visual ? visual
            : Environment.GetEnvironmentVariable("EDITOR") is { Length: > 0 } configured ? configured : "vi";
        var parts = editor.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var info = new ProcessStartInfo(parts[0]) { UseShellExecute = false };
        foreach (var argument in parts.Skip(1).Append(File))
        {
            info.ArgumentList.Add(argument);
        }
        using var process = Process.Start(info) ?? throw DeviceTrustException.FailedPrecondition($"could not start the editor {parts[0]}");
        await process.WaitForExitAsync(cancellationToken);
        if (process.ExitCode != 0)
        {
            throw DeviceTrustException.FailedPrecondition($"the editor ({editor}) exited with {process.ExitCode}: nothing was changed");
        }
        var edited = await System.IO.File.ReadAllTextAsync(File, cancellationToken);
        return edited == text ? null : edited;
    }

    /// <summary>Keeps the edit where the operator can fix it (after the cluster refused it); returns where.</summary>
    public string Keep()
    {
        var kept = Path.Combine(Path.GetTempPath(), $"dtctl-rejected-{Guid.NewGuid():N}-{Path.GetFileName(File)}");
        SecureFile.WriteAllText(kept, System.IO.File.ReadAllText(File));
        return kept;
    }

    /// <summary>
    /// What an edit command prints when the parser or the cluster refused the edit: the reason, that nothing changed,
    /// and where the edit is kept.
    /// </summary>
    public int Refused(Exception refusal) =>
        Client.Output.CliRunner.Fail($"{(refusal is Grpc.Core.RpcException rpc ? rpc.Status.Detail : refusal.Message)}\nNothing was changed (your edit is in {Keep()}).");

    public void Dispose()
    {
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }
}
