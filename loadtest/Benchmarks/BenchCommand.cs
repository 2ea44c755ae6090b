using System.CommandLine;
using BenchmarkDotNet.Running;

namespace DeviceTrust.LoadTest.Benchmarks;

/// <summary><c>bench [BenchmarkDotNet arguments]</c>: the hot code, measured by BenchmarkDotNet (Release builds only).</summary>
public static class BenchCommand
{
    public static Command Create()
    {
        var rest = new Argument<string[]>("arguments") { Description = "BenchmarkDotNet arguments, e.g. --filter '*Access*' --job short", Arity = ArgumentArity.ZeroOrMore };
        var command = new Command("bench", "Run the BenchmarkDotNet benchmarks of hot code (access decisions, measured boot, a bare grain call)") { rest };
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction(result =>
        {
            string[] arguments = [.. result.GetValue(rest) ?? [], .. result.UnmatchedTokens];
            var summaries = BenchmarkSwitcher.FromAssembly(typeof(BenchCommand).Assembly).Run(arguments.Length == 0 ? ["--filter", "*"] : arguments);
            return summaries.Any(s => s.HasCriticalValidationErrors || s.Reports.Any(r => !r.Success)) ? 1 : 0;
        });
        return command;
    }
}
