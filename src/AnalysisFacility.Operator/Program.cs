using System.Diagnostics.CodeAnalysis;
using AnalysisFacility.Operator.Api;
using AnalysisFacility.Operator.Cli;
using AnalysisFacility.Operator.Runtime.Schema;

var line = new CommandLine(args);
try
{
    return line.Command switch
    {
        "run" => await RunCommand.RunAsync(line),
        "crds" or "dev" or "bench" => DevTools.Available ? await DevelopAsync(line) : DevTools.Unavailable(line.Command),
        "render" => await RenderCommand.RunAsync(line),
        _ => Help(),
    };
}
catch (Exception e) when (e is ArgumentException or YamlDotNet.Core.YamlException or IOException)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return 2;
}

[UnconditionalSuppressMessage("Trimming", "IL2026", Justification = DevTools.Justification)]
[UnconditionalSuppressMessage("AOT", "IL3050", Justification = DevTools.Justification)]
static async Task<int> DevelopAsync(CommandLine line) => line.Command switch
{
    "crds" => Crds(line),
    "dev" => await DevCommand.RunAsync(line),
    _ => await BenchCommand.RunAsync(line),
};

[RequiresUnreferencedCode(CrdGenerator.Reflection), RequiresDynamicCode(CrdGenerator.Reflection)]
static int Crds(CommandLine line)
{
    if (line.Get("docs") is { } docs)
    {
        File.WriteAllText(docs, CrdReference.ToMarkdown(ApiTypes.All));
        Console.Error.WriteLine($"wrote {docs}");
    }
    if (line.Get("output") is { } directory)
    {
        foreach (var path in CrdGenerator.WriteAll(ApiTypes.All, directory)) Console.Error.WriteLine($"wrote {path}");
    }
    else if (line.Get("docs") is null)
    {
        foreach (var type in ApiTypes.All) Console.Out.Write("---\n" + CrdGenerator.ToYaml(type));
    }
    return 0;
}

static int Help()
{
    Console.Out.WriteLine($"""
        AnalysisFacility.Operator: runs analysis facilities (JupyterHub, HTCondor, Dask, XCache, tokens) from custom resources.

        usage: AnalysisFacility.Operator <command> [options]

        {RunCommand.Usage}
        crds [--output DIR] [--docs F] print the CRDs generated from the API types (or write one file per CRD, and/or the reference)
        render -f FILE                print the objects the operator would create for the resources in FILE (no cluster)
        {DevCommand.Usage}
        {BenchCommand.Usage}
        """);
    return 0;
}
