namespace AnalysisFacility.Operator.IntegrationTests.Support;

/// <summary>
/// The process helper every real-program test relies on: "exited" must mean "exited and fully read", or a test that
/// waits for "printed its result or exited" reads an empty output from a program that succeeded (a CI failure once).
/// </summary>
public sealed class TestProcessTests
{
    [Fact]
    public async Task A_program_that_has_exited_has_all_of_its_last_lines_read()
    {
        for (var run = 0; run < 30; run++)
        {
            await using var program = TestProcess.Start("/bin/sh", ["-c", "echo first; echo RESULT=42; echo warning >&2"]);
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            while (!program.HasExited)
            {
                DateTime.UtcNow.Should().BeBefore(deadline, "sh ends at once");
                await Task.Delay(1);
            }
            program.Output.Should().Contain("RESULT=42").And.Contain("warning", "stderr is read to its end too");
        }
    }

    [Fact]
    public async Task Standard_output_is_only_what_the_program_printed_to_stdout_so_results_parse_whatever_stderr_says()
    {
        var run = await TestProcess.RunAsync("/bin/sh", ["-c", "echo 'Task was destroyed' >&2; echo '{\"result\": 42}'; echo late >&2"]);

        run.ExitCode.Should().Be(0);
        System.Text.Json.Nodes.JsonNode.Parse(run.StandardOutput)!["result"]!.GetValue<int>().Should().Be(42);
        run.Output.Should().Contain("Task was destroyed").And.Contain("late").And.Contain("{\"result\": 42}");
    }
}
