using System.Diagnostics.CodeAnalysis;

namespace AnalysisFacility.Operator.Cli;

/// <summary>
/// Whether this build carries the development tools (crds, dev, bench), which generate CRDs from the API types by
/// reflection. A native build (docs/performance.md) turns the switch off: the trimmer removes them with everything they
/// reach, and the shipped operator keeps run and render. `dotnet run` and the tests have them.
/// </summary>
public static class DevTools
{
    public const string Switch = "AnalysisFacility.Operator.DevTools";

    /// <summary>Why a call into a development command needs no trim warning: the publish sets this switch false, so the
    /// native compiler removes the guarded branch, and a JIT build has all the metadata reflection reads.</summary>
    public const string Justification = "guarded by DevTools.Available, a feature switch the native publish turns off (the branch is removed)";

    [FeatureSwitchDefinition(Switch)]
    public static bool Available => !AppContext.TryGetSwitch(Switch, out var enabled) || enabled;

    /// <summary>The development commands' names in a build without them: each says where to run it instead.</summary>
    public static System.CommandLine.Command[] Placeholders() => [Placeholder("crds"), Placeholder("dev"), Placeholder("bench")];

    private static System.CommandLine.Command Placeholder(string name)
    {
        var command = new System.CommandLine.Command(name, "a development command, left out of this native build") { TreatUnmatchedTokensAsErrors = false };
        command.SetAction(_ => Unavailable(name));
        return command;
    }

    public static int Unavailable(string command)
    {
        Console.Error.WriteLine($"error: '{command}' is a development command, left out of this native build; run it from the source tree (dotnet run --project src/AnalysisFacility.Operator -- {command})");
        return 2;
    }
}
