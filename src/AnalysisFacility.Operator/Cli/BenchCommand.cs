namespace AnalysisFacility.Operator.Cli;

public static class BenchCommand
{
    public const string Usage = "bench                           (being written)";

    public static Task<int> RunAsync(CommandLine line)
    {
        _ = line;
        Console.Error.WriteLine("bench: not available yet");
        return Task.FromResult(2);
    }
}
