using System.Diagnostics;

namespace AnalysisFacility.LocalCluster.Node;

/// <summary>Runs the host's own tools (ip, mount, umount) for the node and says clearly what failed.</summary>
public static class HostCommands
{
    public static async Task<(int ExitCode, string Output)> TryRunAsync(string program, IEnumerable<string> arguments, CancellationToken cancellationToken = default)
    {
        var info = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments) info.ArgumentList.Add(argument);
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {program}");
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        return (process.ExitCode, (await stdout) + (await stderr));
    }

    public static async Task<string> RunAsync(string program, IEnumerable<string> arguments, CancellationToken cancellationToken = default)
    {
        var list = arguments.ToList();
        var (exitCode, output) = await TryRunAsync(program, list, cancellationToken);
        if (exitCode != 0) throw new InvalidOperationException($"{program} {string.Join(' ', list)} failed ({exitCode}): {output.Trim()}");
        return output;
    }

    public static Task<string> IpAsync(CancellationToken cancellationToken, params string[] arguments) => RunAsync("ip", arguments, cancellationToken);
}
