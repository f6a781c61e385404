using System.Diagnostics;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace AnalysisFacility.Operator.Tests.Delivery;

/// <summary>The Dockerfile read against what `dotnet publish` really produces (no container runtime here).</summary>
public sealed class DockerfileTests
{
    private static readonly string Dockerfile = File.ReadAllText(DeliveryFiles.PathOf("Dockerfile"));

    [Fact]
    public async Task Publish_output_contains_the_entrypoint_the_Dockerfile_names()
    {
        // The same publish command the build stage runs, into a temporary folder.
        var publish = Regex.Match(Dockerfile, @"RUN dotnet publish (\S+) -c Release -r (\S+) .*-o (\S+)");
        publish.Success.Should().BeTrue("the build stage publishes the operator project for one platform (NativeAOT)");
        var copied = Regex.Match(Dockerfile, @"COPY --from=build " + Regex.Escape(publish.Groups[3].Value) + @"/(\S+) \./");
        copied.Success.Should().BeTrue("the runtime stage takes the native executable alone");
        var output = Path.Combine(Path.GetTempPath(), "af-publish-" + Guid.NewGuid().ToString("N"));
        try
        {
            var start = new ProcessStartInfo("dotnet", ["publish", publish.Groups[1].Value, "-c", "Release", "-r", publish.Groups[2].Value, "-o", output, "-nologo", "-v", "q"])
            {
                WorkingDirectory = RepositoryRoot.Path, RedirectStandardOutput = true, RedirectStandardError = true,
            };
            using var process = Process.Start(start)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            // The native compile of the whole operator takes minutes on a shared 2-core machine.
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(25));
            await process.WaitForExitAsync(timeout.Token);
            process.ExitCode.Should().Be(0, await stdout + await stderr);

            var entrypoint = Regex.Match(Dockerfile, @"^ENTRYPOINT \[(.*)\]\s*$", RegexOptions.Multiline);
            var words = JsonNode.Parse("[" + entrypoint.Groups[1].Value + "]")!.AsArray().Select(w => (string)w!).ToList();
            words.Should().Equal("/app/" + copied.Groups[1].Value);
            var program = Path.Combine(output, copied.Groups[1].Value);
            File.Exists(program).Should().BeTrue($"{program} is what the image runs");
            // A native program: no runtimeconfig (no shared framework), so the runtime stage is runtime-deps, not aspnet.
            File.Exists(Path.Combine(output, "AnalysisFacility.Operator.runtimeconfig.json")).Should().BeFalse();
            Dockerfile.Should().Contain("FROM mcr.microsoft.com/dotnet/runtime-deps:10.0 AS runtime");
            // It starts and knows its commands; the development ones are left out of it.
            var help = await RunAsync(program, "--help");
            help.ExitCode.Should().Be(0, help.Output);
            help.Output.Should().Contain("run").And.Contain("render");
            var runHelp = await RunAsync(program, "run", "--help");
            runHelp.ExitCode.Should().Be(0, runHelp.Output);
            runHelp.Output.Should().Contain("--namespaces").And.Contain("--leader-elect");
            var crds = await RunAsync(program, "crds", "--output", output);
            crds.ExitCode.Should().Be(2);
            crds.Output.Should().Contain("left out of this native build");
        }
        finally
        {
            if (Directory.Exists(output)) Directory.Delete(output, recursive: true);
        }
    }

    private static async Task<(int ExitCode, string Output)> RunAsync(string program, params string[] arguments)
    {
        using var process = Process.Start(new ProcessStartInfo(program, arguments) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout + await stderr);
    }

    [Fact]
    public void Image_runs_as_the_numeric_non_root_user_the_Deployment_expects()
    {
        var user = Regex.Match(Dockerfile, @"^USER (\d+):(\d+)\s*$", RegexOptions.Multiline);
        user.Success.Should().BeTrue("a numeric USER lets runAsNonRoot verify the image");
        int.Parse(user.Groups[1].Value).Should().BeGreaterThan(0);
        Regex.Matches(Dockerfile, @"^FROM ", RegexOptions.Multiline).Should().HaveCount(2, "multi-stage: SDK build, runtime image");
        var pod = DeliveryFiles.Single(DeliveryFiles.ObjectsInFiles(DeliveryFiles.PathOf("deploy", "operator")), "Deployment")["spec"]!["template"]!["spec"]!;
        ((string)pod["securityContext"]!["runAsUser"]!).Should().Be(user.Groups[1].Value);
        ((string)pod["securityContext"]!["runAsNonRoot"]!).Should().Be("true");
        // CMD supplies `run`; the Deployment passes it explicitly with its flags.
        Dockerfile.Should().Contain("CMD [\"run\"]");
        ((string)pod["containers"]![0]!["args"]![0]!).Should().Be("run");
    }
}
