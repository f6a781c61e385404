using AnalysisFacility.Operator.Api;
using AnalysisFacility.Operator.Runtime.Schema;

// Placeholder entry point while the host is being built: only the `crds` command exists.
if (args.Length > 0 && args[0] == "crds")
{
    var output = args.Length > 2 && args[1] == "--output" ? args[2] : null;
    if (output is null)
    {
        foreach (var type in ApiTypes.All) Console.Out.Write("---\n" + CrdGenerator.ToYaml(type));
    }
    else
    {
        foreach (var path in CrdGenerator.WriteAll(ApiTypes.All, output)) Console.Error.WriteLine($"wrote {path}");
    }
    return 0;
}
Console.Error.WriteLine("usage: AnalysisFacility.Operator crds [--output DIR]");
return 2;
