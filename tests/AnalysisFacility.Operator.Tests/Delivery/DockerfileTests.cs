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
        var publish = Regex.Match(Dockerfile, @"RUN dotnet publish (\S+) -c Release .*-o (\S+)");
        publish.Success.Should().BeTrue("the build stage publishes the operator project");
        Regex.Match(Dockerfile, @"COPY --from=build " + Regex.Escape(publish.Groups[2].Value) + @" \./").Success.Should().BeTrue();
        var output = Path.Combine(Path.GetTempPath(), "af-publish-" + Guid.NewGuid().ToString("N"));
        try
        {
            var start = new ProcessStartInfo("dotnet", ["publish", publish.Groups[1].Value, "-c", "Release", "-o", output, "-nologo", "-v", "q"])
            {
                WorkingDirectory = RepositoryRoot.Path, RedirectStandardOutput = true, RedirectStandardError = true,
            };
            using var process = Process.Start(start)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(8));
            await process.WaitForExitAsync(timeout.Token);
            process.ExitCode.Should().Be(0, await stdout + await stderr);

            var entrypoint = Regex.Match(Dockerfile, @"^ENTRYPOINT \[(.*)\]\s*$", RegexOptions.Multiline);
            var words = JsonNode.Parse("[" + entrypoint.Groups[1].Value + "]")!.AsArray().Select(w => (string)w!).ToList();
            words.Should().Equal("dotnet", "AnalysisFacility.Operator.dll");
            File.Exists(Path.Combine(output, words[1])).Should().BeTrue($"{words[1]} is what the image runs");
            // The runtime stage is the ASP.NET image: the published app must need nothing more than that shared framework.
            var runtimeConfig = JsonNode.Parse(File.ReadAllText(Path.Combine(output, "AnalysisFacility.Operator.runtimeconfig.json")))!;
            var frameworks = (runtimeConfig["runtimeOptions"]!["frameworks"]?.AsArray().Select(f => (string)f!["name"]!)
                              ?? [(string)runtimeConfig["runtimeOptions"]!["framework"]!["name"]!]).ToList();
            frameworks.Should().BeSubsetOf(["Microsoft.NETCore.App", "Microsoft.AspNetCore.App"]);
            var version = (runtimeConfig["runtimeOptions"]!["framework"] ?? runtimeConfig["runtimeOptions"]!["frameworks"]![0])!["version"]!.ToString();
            Dockerfile.Should().Contain($"mcr.microsoft.com/dotnet/aspnet:{version.Split('.')[0]}.0");
        }
        finally
        {
            if (Directory.Exists(output)) Directory.Delete(output, recursive: true);
        }
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
