using System.CommandLine.Parsing;

namespace DeviceTrust.Cli.Dtsh;

internal static class CommandLineNames
{
    /// <summary>The command's names from the root down, e.g. "dtsh device authenticate", without any argument.</summary>
    public static string Path(CommandResult command)
    {
        var names = new List<string>();
        for (SymbolResult? result = command; result is CommandResult level; result = level.Parent)
        {
            names.Insert(0, level.Command.Name);
        }
        return string.Join(' ', names);
    }
}
