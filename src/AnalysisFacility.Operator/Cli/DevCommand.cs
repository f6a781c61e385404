namespace AnalysisFacility.Operator.Cli;

public static class DevCommand
{
    public const string Usage = "dev                           (being written)";

    public static Task<int> RunAsync(CommandLine line)
    {
        _ = line;
        Console.Error.WriteLine("dev: not available yet");
        return Task.FromResult(2);
    }
}
