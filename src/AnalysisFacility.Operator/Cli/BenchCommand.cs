using System.Diagnostics.CodeAnalysis;
using AnalysisFacility.Operator.Benchmarks;
using AnalysisFacility.Operator.Runtime.Schema;
using AnalysisFacility.Operator.Tokens.Benchmarks;

namespace AnalysisFacility.Operator.Cli;

public static class BenchCommand
{
    public const string Usage = """
        bench sessions [--count 1000] [--workers 8] [--rounds 3] [--steady-seconds 30] [--timeout-minutes 30] [--operator PATH]
                                      provision UserSessions against a local control plane with the operator in its own
                                      process, compare with creating the same objects directly (floor), count writes,
                                      operator CPU and peak memory; each round runs both phases, times are medians
                                      (5 interleaved rounds: --rounds 5); --operator runs another build (e.g. native)
        bench storm [--rate 20] [--seconds 60] [--workers 8] [--timeout-minutes 10] [--operator PATH]
                                      a login storm: UserSessions created at a steady rate; p50/p99 from each creation
                                      to its Pod and to its token Secret
        bench tokens [--algorithm ES256] [--users 10000]
                                      token minting throughput and the cost of refreshing every user's token
        """;

    [RequiresUnreferencedCode(CrdGenerator.Reflection), RequiresDynamicCode(CrdGenerator.Reflection)]
    public static async Task<int> RunAsync(CommandLine line)
    {
        using var cancel = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) => { e.Cancel = true; cancel.Cancel(); };
        switch (line.Positional.FirstOrDefault())
        {
            case "sessions":
            {
                var options = new SessionBenchmarkOptions(
                    line.GetInt("count", null, 1000), line.GetInt("workers", null, 8),
                    TimeSpan.FromSeconds(line.GetInt("steady-seconds", null, 30)), TimeSpan.FromMinutes(line.GetInt("timeout-minutes", null, 30)),
                    line.GetInt("rounds", null, 3), line.Get("operator"));
                var log = Logging.Create(line.Get("log-level", "AF_LOG_LEVEL", "warning")!, json: false);
                var result = await SessionBenchmark.RunAsync(options, log, cancel.Token);
                Console.Out.WriteLine(result);
                return 0;
            }
            case "storm":
            {
                var options = new LoginStormOptions(line.GetInt("rate", null, 20), TimeSpan.FromSeconds(line.GetInt("seconds", null, 60)),
                    line.GetInt("workers", null, 8), TimeSpan.FromMinutes(line.GetInt("timeout-minutes", null, 10)), line.Get("operator"));
                var log = Logging.Create(line.Get("log-level", "AF_LOG_LEVEL", "warning")!, json: false);
                Console.Out.WriteLine(await LoginStormBenchmark.RunAsync(options, log, cancel.Token));
                return 0;
            }
            case "tokens":
            {
                var result = await TokenBenchmark.RunAsync(line.Get("algorithm", null, "ES256")!, line.GetInt("users", null, 10_000),
                    cancellationToken: cancel.Token);
                Console.Out.WriteLine($"algorithm:               {result.Algorithm}");
                Console.Out.WriteLine($"tokens per second:       {result.TokensPerSecond:F0} (one thread)");
                Console.Out.WriteLine($"refresh of {result.Users} users: {result.RefreshDuration.TotalMilliseconds:F0} ms");
                Console.Out.WriteLine($"token length:            {result.TokenLength} bytes");
                return 0;
            }
            default:
                Console.Error.WriteLine("usage: " + Usage);
                return 2;
        }
    }
}
