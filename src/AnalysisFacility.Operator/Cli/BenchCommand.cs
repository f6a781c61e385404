using System.Diagnostics.CodeAnalysis;
using System.CommandLine;
using AnalysisFacility.Operator.Benchmarks;
using AnalysisFacility.Operator.Tokens.Benchmarks;
using Serilog.Events;

using AnalysisFacility.Operator.Runtime.Schema;

namespace AnalysisFacility.Operator.Cli;

/// <summary>`bench sessions | storm | tokens`: the measurements of docs/performance.md.</summary>
[RequiresUnreferencedCode(CrdGenerator.Reflection), RequiresDynamicCode(CrdGenerator.Reflection)]
public static class BenchCommand
{
    public static Command Create() => new("bench", "measure the operator (see docs/performance.md)") { Sessions(), Storm(), Tokens() };

    private static Command Sessions()
    {
        var count = CliOption.Number("--count", "UserSessions to provision", 1000);
        var workers = CliOption.Number("--workers", "concurrent reconciles of the operator, and concurrent creations of the floor", 8);
        var rounds = CliOption.Number("--rounds", "rounds, each running both phases; times are medians (5 interleaved rounds: --rounds 5)", 3);
        var steady = CliOption.Number("--steady-seconds", "how long the steady state is watched for writes", 30);
        var timeout = CliOption.Number("--timeout-minutes", "give up after this long", 30);
        var program = Operator();
        var logLevel = LogLevel();
        var command = new Command("sessions", "provision UserSessions against a local control plane with the operator in its own process, " +
            "compare with creating the same objects directly (floor), count writes, operator CPU and peak memory")
        {
            count, workers, rounds, steady, timeout, program, logLevel,
        };
        command.SetAction(result => UntilCtrlC(async cancellationToken =>
        {
            var options = new SessionBenchmarkOptions(result.GetValue(count), result.GetValue(workers),
                TimeSpan.FromSeconds(result.GetValue(steady)), TimeSpan.FromMinutes(result.GetValue(timeout)),
                result.GetValue(rounds), result.GetValue(program));
            var log = Logging.Create(result.GetValue(logLevel), json: false);
            Console.Out.WriteLine(await SessionBenchmark.RunAsync(options, log, cancellationToken));
            return 0;
        }));
        return command;
    }

    private static Command Storm()
    {
        var rate = CliOption.Number("--rate", "UserSessions created per second", 20);
        var seconds = CliOption.Number("--seconds", "how long the storm lasts", 60);
        var workers = CliOption.Number("--workers", "concurrent reconciles of the operator", 8);
        var timeout = CliOption.Number("--timeout-minutes", "give up after this long", 10);
        var program = Operator();
        var logLevel = LogLevel();
        var command = new Command("storm", "a login storm: UserSessions created at a steady rate; p50/p99 from each creation to its Pod and to its token Secret")
        {
            rate, seconds, workers, timeout, program, logLevel,
        };
        command.SetAction(result => UntilCtrlC(async cancellationToken =>
        {
            var options = new LoginStormOptions(result.GetValue(rate), TimeSpan.FromSeconds(result.GetValue(seconds)), result.GetValue(workers),
                TimeSpan.FromMinutes(result.GetValue(timeout)), result.GetValue(program));
            var log = Logging.Create(result.GetValue(logLevel), json: false);
            Console.Out.WriteLine(await LoginStormBenchmark.RunAsync(options, log, cancellationToken));
            return 0;
        }));
        return command;
    }

    private static Command Tokens()
    {
        var algorithm = CliOption.Text("--algorithm", "signing algorithm of the minted tokens", "ES256");
        var users = CliOption.Number("--users", "users whose tokens one refresh renews", 10_000);
        var command = new Command("tokens", "token minting throughput and the cost of refreshing every user's token") { algorithm, users };
        command.SetAction(result => UntilCtrlC(async cancellationToken =>
        {
            var outcome = await TokenBenchmark.RunAsync(result.GetRequiredValue(algorithm), result.GetValue(users), cancellationToken: cancellationToken);
            Console.Out.WriteLine($"algorithm:               {outcome.Algorithm}");
            Console.Out.WriteLine($"tokens per second:       {outcome.TokensPerSecond:F0} (one thread)");
            Console.Out.WriteLine($"refresh of {outcome.Users} users: {outcome.RefreshDuration.TotalMilliseconds:F0} ms");
            Console.Out.WriteLine($"token length:            {outcome.TokenLength} bytes");
            return 0;
        }));
        return command;
    }

    /// <summary>Ctrl-C cancels the measurement (its cluster and operator process are cleaned up), not the process.</summary>
    private static async Task<int> UntilCtrlC(Func<CancellationToken, Task<int>> measure)
    {
        using var cancel = new CancellationTokenSource();
        ConsoleCancelEventHandler handler = (_, e) =>
        {
            e.Cancel = true;
            cancel.Cancel();
        };
        Console.CancelKeyPress += handler;
        try
        {
            return await measure(cancel.Token);
        }
        finally
        {
            Console.CancelKeyPress -= handler;
        }
    }

    private static Option<string?> Operator() => CliOption.OptionalText("--operator", "run this operator program instead of this one (e.g. a native build)");

    private static Option<LogEventLevel> LogLevel() => CliOption.LogLevel("--log-level", "least level logged", LogEventLevel.Warning, "AF_LOG_LEVEL");
}
