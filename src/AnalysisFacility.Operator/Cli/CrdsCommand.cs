using System.Diagnostics.CodeAnalysis;
using System.CommandLine;
using AnalysisFacility.Operator.Api;
using AnalysisFacility.Operator.Runtime.Schema;

namespace AnalysisFacility.Operator.Cli;

/// <summary>`crds`: the CRDs generated from the API types, printed, written one file per CRD, and/or as the reference.</summary>
[RequiresUnreferencedCode(CrdGenerator.Reflection), RequiresDynamicCode(CrdGenerator.Reflection)]
public sealed class CrdsCommand
{
    private readonly Option<string?> _output = CliOption.OptionalText("--output", "write one file per CRD into this directory instead of printing them");
    private readonly Option<string?> _docs = CliOption.OptionalText("--docs", "write the CRD reference (Markdown) to this file");

    public CrdsCommand()
    {
        Command = new Command("crds", "print the CRDs generated from the API types") { _output, _docs };
        Command.SetAction(Run);
    }

    public Command Command { get; }

    private int Run(ParseResult result)
    {
        var docs = result.GetValue(_docs);
        if (docs is not null)
        {
            File.WriteAllText(docs, CrdReference.ToMarkdown(ApiTypes.All));
            Console.Error.WriteLine($"wrote {docs}");
        }
        if (result.GetValue(_output) is { } directory)
        {
            foreach (var path in CrdGenerator.WriteAll(ApiTypes.All, directory)) Console.Error.WriteLine($"wrote {path}");
        }
        else if (docs is null)
        {
            foreach (var type in ApiTypes.All) Console.Out.Write("---\n" + CrdGenerator.ToYaml(type));
        }
        return 0;
    }
}
