namespace AnalysisFacility.Operator.Cli;

public static class RenderCommand
{
    public const string Usage = "render                           (being written)";

    public static Task<int> RunAsync(CommandLine line)
    {
        _ = line;
        Console.Error.WriteLine("render: not available yet");
        return Task.FromResult(2);
    }
}
