using System.Net;
using AnalysisFacility.Operator.Cli;
using Serilog.Events;

namespace AnalysisFacility.Operator.Tests.Cli;

/// <summary>The command line as a user meets it: help for every command, usage errors with exit code 2, the run options.</summary>
public sealed class OperatorCliTests
{
    private static async Task<(int Code, string Output, string Error)> InvokeAsync(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var code = await OperatorCli.InvokeAsync(args, output, error);
        return (code, output.ToString(), error.ToString());
    }

    [Fact]
    public async Task No_command_prints_the_help_with_every_command()
    {
        var (code, output, _) = await InvokeAsync();
        code.Should().Be(0);
        output.Should().Contain("run").And.Contain("crds").And.Contain("render").And.Contain("dev").And.Contain("bench");
    }

    [Theory]
    [InlineData("run", "--namespaces --operator-namespace --leader-elect --workers --listen-address --http-port --issuer-port --issuer-tls-cert --issuer-tls-key --log-level --http-log-level")]
    [InlineData("crds", "--output --docs")]
    [InlineData("render", "-f --filename --operator-namespace")]
    [InlineData("dev", "--samples --overlay --once --simulate-kubelet --node-cpu --node-memory --node-gpus --log-level logs")]
    [InlineData("dev logs", "NAMESPACE/POD -c --container")]
    [InlineData("bench", "sessions storm tokens")]
    [InlineData("bench sessions", "--count --workers --rounds --steady-seconds --timeout-minutes --operator --log-level")]
    [InlineData("bench storm", "--rate --seconds --workers --timeout-minutes --operator --log-level")]
    [InlineData("bench tokens", "--algorithm --users")]
    public async Task Every_command_has_help_naming_its_options(string command, string options)
    {
        var (code, output, error) = await InvokeAsync([.. command.Split(' '), "--help"]);
        code.Should().Be(0, error);
        output.Should().MatchRegex($@"Usage:\n  \S+ {command} ");
        foreach (var option in options.Split(' ')) output.Should().Contain(option);
    }

    [Theory]
    [InlineData("frob", "frob")]
    [InlineData("run --bogus", "--bogus")]
    [InlineData("run --workers abc", "--workers: must be a whole number (got 'abc')")]
    [InlineData("run --listen-address nowhere", "--listen-address: must be an IP address")]
    [InlineData("run --log-level loud", "--log-level: a log level is debug, info, warning or error")]
    [InlineData("render", "--filename")]
    [InlineData("bench", "command")]
    [InlineData("dev logs", "Required argument missing")]
    [InlineData("dev --node-memory lots", "--node-memory")]
    public async Task A_usage_error_says_what_is_wrong_and_exits_with_2(string command, string message)
    {
        var (code, output, error) = await InvokeAsync(command.Split(' '));
        code.Should().Be(OperatorCli.UsageError);
        error.Should().StartWith("error: ").And.Contain(message).And.Contain("--help");
        output.Should().BeEmpty();
    }

    [Fact]
    public async Task Bad_input_is_an_error_with_exit_code_2_not_a_stack_trace()
    {
        var (code, _, error) = await InvokeAsync("render", "-f", Path.Combine(Path.GetTempPath(), $"af-missing-{Guid.NewGuid():N}.yaml"));
        code.Should().Be(OperatorCli.UsageError);
        error.Should().StartWith("error: ").And.Contain("does not exist").And.NotContain(" at ");
    }

    [Fact]
    public void Run_options_reach_the_host_in_both_spellings_of_a_value()
    {
        var run = new RunCommand();
        var line = run.Command.Parse(["--namespaces", "a, b", "--operator-namespace=ops", "--leader-elect", "--workers", "3",
            "--listen-address", "127.0.0.1", "--http-port", "9090", "--issuer-port=9443", "--issuer-tls-cert", "c.pem", "--issuer-tls-key", "k.pem",
            "--http-log-level", "debug"]);
        line.Errors.Should().BeEmpty();
        var options = run.HostOptions(line);
        options.Settings.Namespaces.Should().Equal("a", "b");
        options.Settings.OperatorNamespace.Should().Be("ops");
        options.Settings.Workers.Should().Be(3);
        options.LeaderElection.Should().BeTrue();
        options.ListenAddress.Should().Be(IPAddress.Loopback);
        (options.HttpPort, options.IssuerPort).Should().Be((9090, 9443));
        (options.IssuerCertificatePath, options.IssuerKeyPath).Should().Be(("c.pem", "k.pem"));
        options.HttpLogLevel.Should().Be(LogEventLevel.Debug);
    }

    /// <summary>
    /// The chart configures the operator through AF_* variables; the command line still wins over them. (This class's
    /// tests run one at a time, and no other test reads these variables.)
    /// </summary>
    [Fact]
    public async Task Environment_variables_stand_in_for_absent_options_and_a_bad_one_is_a_usage_error()
    {
        var saved = new[] { "AF_NAMESPACES", "AF_WORKERS", "AF_LEADER_ELECT" }.ToDictionary(v => v, Environment.GetEnvironmentVariable);
        try
        {
            var run = new RunCommand();
            Environment.SetEnvironmentVariable("AF_NAMESPACES", "x,y");
            Environment.SetEnvironmentVariable("AF_WORKERS", "7");
            Environment.SetEnvironmentVariable("AF_LEADER_ELECT", "true");
            var fromEnvironment = run.HostOptions(run.Command.Parse([]));
            fromEnvironment.Settings.Namespaces.Should().Equal("x", "y");
            fromEnvironment.Settings.Workers.Should().Be(7);
            fromEnvironment.LeaderElection.Should().BeTrue();
            run.HostOptions(run.Command.Parse(["--workers", "2"])).Settings.Workers.Should().Be(2);

            Environment.SetEnvironmentVariable("AF_WORKERS", "many");
            var (code, _, error) = await InvokeAsync("run");
            code.Should().Be(OperatorCli.UsageError);
            error.Should().Contain("AF_WORKERS: must be a whole number (got 'many')");

            foreach (var variable in saved.Keys) Environment.SetEnvironmentVariable(variable, null);
            var defaults = run.HostOptions(run.Command.Parse([]));
            defaults.Settings.Namespaces.Should().BeEmpty();
            defaults.Settings.Workers.Should().Be(4);
            defaults.LeaderElection.Should().BeFalse();
            (defaults.ListenAddress, defaults.HttpPort, defaults.IssuerPort).Should().Be((IPAddress.Any, 8080, 8443));
        }
        finally
        {
            foreach (var (variable, value) in saved) Environment.SetEnvironmentVariable(variable, value);
        }
    }
}
