using System.Diagnostics;
using System.Text.RegularExpressions;
using AnalysisFacility.LocalCluster.ControlPlane;
using AnalysisFacility.Operator.Dev;

namespace AnalysisFacility.Operator.IntegrationTests.Delivery;

/// <summary>Runs the kubectl 1.20 client (the Debian kubernetes-client an admin would use) against the test control plane.</summary>
public sealed partial class Kubectl(string kubeconfigPath)
{
    public static readonly string RepositoryRoot = FindRoot();

    public sealed record Result(int ExitCode, string Output, string Error);

    public async Task<Result> RunAsync(IReadOnlyList<string> args, string? input = null, CancellationToken cancellationToken = default)
    {
        var start = new ProcessStartInfo(Path.Combine(LocalControlPlane.BinDirectory, "kubectl"))
        {
            WorkingDirectory = RepositoryRoot, RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true,
        };
        start.ArgumentList.Add("--kubeconfig=" + kubeconfigPath);
        foreach (var arg in args) start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var error = process.StandardError.ReadToEndAsync(cancellationToken);
        if (input is not null) await process.StandardInput.WriteAsync(input);
        process.StandardInput.Close();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromMinutes(2));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }
        return new Result(process.ExitCode, await output, await error);
    }

    /// <summary>`kubectl kustomize DIR` with kubectl 1.20's built-in kustomize.</summary>
    public async Task<string> KustomizeAsync(string directory)
    {
        var result = await RunAsync(["kustomize", directory]);
        result.ExitCode.Should().Be(0, result.Error);
        return result.Output;
    }

    /// <summary>The YAML documents of a multi-document manifest.</summary>
    public static IReadOnlyList<string> Documents(string yaml) =>
        DocumentSeparator().Split(yaml).Where(d => d.Split('\n').Any(l => l.Length > 0 && !l.StartsWith('#'))).ToList();

    public static string KindOf(string document) => KindLine().Match(document).Groups[1].Value.Trim();

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "AnalysisFacility.Operator.sln"))) return directory.FullName;
        }
        throw new InvalidOperationException("solution root not found");
    }

    [GeneratedRegex(@"^---\s*$", RegexOptions.Multiline)] private static partial Regex DocumentSeparator();
    [GeneratedRegex(@"^kind:\s*(\S+)", RegexOptions.Multiline)] private static partial Regex KindLine();
}
