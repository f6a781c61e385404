using System.Diagnostics.CodeAnalysis;
using System.CommandLine;
using System.CommandLine.Help;

namespace AnalysisFacility.Operator.Cli;

/// <summary>
/// The command line: run, crds, render, dev and bench, each with --help. A usage error (unknown command or option, a
/// bad value, a missing argument) or bad input (a missing file, YAML that does not parse) prints "error: ..." and
/// exits with 2; no command prints the help.
/// </summary>
public static class OperatorCli
{
    public const int UsageError = 2;

    public static RootCommand Create()
    {
        var root = new RootCommand("AnalysisFacility.Operator: runs analysis facilities (JupyterHub, HTCondor, Dask, XCache, tokens) from custom resources.")
        {
            new RunCommand().Command, new RenderCommand().Command,
        };
        foreach (var command in DevTools.Available ? DevelopmentCommands() : DevTools.Placeholders()) root.Add(command);
        root.SetAction(result => new HelpAction().Invoke(result));
        return root;
    }

    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = DevTools.Justification)]
    [UnconditionalSuppressMessage("AOT", "IL3050", Justification = DevTools.Justification)]
    private static Command[] DevelopmentCommands() => [new CrdsCommand().Command, new DevCommand().Command, BenchCommand.Create()];

    public static async Task<int> InvokeAsync(IReadOnlyList<string> args, TextWriter output, TextWriter error)
    {
        var result = Create().Parse(args);
        if (result.Errors.Count > 0)
        {
            foreach (var parseError in result.Errors) await error.WriteLineAsync($"error: {parseError.Message}");
            var path = new List<string>();
            for (var command = result.CommandResult; command is not null; command = command.Parent as System.CommandLine.Parsing.CommandResult)
            {
                path.Insert(0, command.Command.Name);
            }
            await error.WriteLineAsync($"see: {string.Join(' ', path)} --help");
            return UsageError;
        }
        try
        {
            // The commands handle Ctrl-C and SIGTERM themselves (a dev cluster takes longer than a grace period to clean up).
            return await result.InvokeAsync(new InvocationConfiguration
            {
                Output = output, Error = error, EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null,
            });
        }
        catch (Exception e) when (e is ArgumentException or YamlDotNet.Core.YamlException or IOException)
        {
            await error.WriteLineAsync($"error: {e.Message}");
            return UsageError;
        }
    }
}
