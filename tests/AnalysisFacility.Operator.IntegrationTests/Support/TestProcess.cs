using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace AnalysisFacility.Operator.IntegrationTests.Support;

/// <summary>
/// A real program started by a test (etcd, kube-apiserver, xrootd, jupyterhub, dask-scheduler, ...).
/// Output is kept in memory for diagnostics; disposing kills the whole process tree, so a failing test
/// never leaves servers behind.
/// </summary>
public sealed class TestProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly StringBuilder _standardOutput = new();
    private readonly object _gate = new();
    private int _streamsAtEnd;

    private TestProcess(Process process, string name)
    {
        _process = process;
        Name = name;
    }

    public string Name { get; }
    public int Id => _process.Id;

    /// <summary>
    /// The process has exited AND everything it wrote has been read. Process.HasExited alone can be true while its last
    /// lines are still in the pipe (documented for redirected async output), so a test that checks "printed the result
    /// or exited" could read an empty Output from a process that succeeded.
    /// </summary>
    public bool HasExited => _process.HasExited && Volatile.Read(ref _streamsAtEnd) == 2;

    /// <summary>Everything the process wrote to stdout and stderr so far, interleaved as read.</summary>
    public string Output
    {
        get { lock (_gate) return _output.ToString(); }
    }

    /// <summary>
    /// Only what the process wrote to stdout: results to parse. The two streams are read by separate threads, so in
    /// <see cref="Output"/> a stderr line can land after the stdout line written after it.
    /// </summary>
    public string StandardOutput
    {
        get { lock (_gate) return _standardOutput.ToString(); }
    }

    /// <summary>
    /// Starts <paramref name="fileName"/>. With <paramref name="runAsUser"/> the program runs under that account
    /// (via setpriv), e.g. "nobody" for xrootd, which refuses to run as root.
    /// </summary>
    public static TestProcess Start(string fileName, IEnumerable<string> arguments, string? workingDirectory = null,
        IDictionary<string, string>? environment = null, string? runAsUser = null, string? name = null)
    {
        var info = new ProcessStartInfo
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        if (runAsUser is not null && Environment.UserName == "root")
        {
            info.FileName = "setpriv";
            foreach (var a in new[] { $"--reuid={runAsUser}", $"--regid={GroupOf(runAsUser)}", "--clear-groups", "--", fileName }) info.ArgumentList.Add(a);
        }
        else
        {
            info.FileName = fileName;
        }
        foreach (var argument in arguments) info.ArgumentList.Add(argument);
        if (environment is not null)
        {
            foreach (var (key, value) in environment) info.Environment[key] = value;
        }

        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var result = new TestProcess(process, name ?? Path.GetFileName(fileName));
        process.OutputDataReceived += (_, e) => result.Append(e.Data, standardOutput: true);
        process.ErrorDataReceived += (_, e) => result.Append(e.Data, standardOutput: false);
        if (!process.Start()) throw new InvalidOperationException($"could not start {fileName}");
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return result;
    }

    /// <summary>Runs a command to completion and returns its exit code, combined output and stdout.</summary>
    public static async Task<ProcessResult> RunAsync(string fileName, IEnumerable<string> arguments,
        IDictionary<string, string>? environment = null, string? runAsUser = null, TimeSpan? timeout = null,
        string? workingDirectory = null, CancellationToken cancellationToken = default)
    {
        await using var process = Start(fileName, arguments, workingDirectory, environment, runAsUser);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout ?? TimeSpan.FromMinutes(2));
        try
        {
            await process._process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"{fileName} {string.Join(' ', arguments)} did not finish in time. Output:\n{process.Output}");
        }
        return new ProcessResult(process._process.ExitCode, process.Output, process.StandardOutput);
    }

    public Task WaitForExitAsync(CancellationToken cancellationToken) => _process.WaitForExitAsync(cancellationToken);

    /// <summary>Polls <paramref name="condition"/> until true; fails with the process output when it exits or times out.</summary>
    public async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            // Read the exit state before the condition: a process that met the condition and then exited is a success.
            var exited = HasExited;
            try
            {
                if (await condition()) return;
            }
            catch (Exception) when (DateTime.UtcNow < deadline)
            {
                // not up yet
            }
            if (exited)
            {
                throw new InvalidOperationException($"{Name} exited with {_process.ExitCode} while waiting for {what}. Output:\n{Output}");
            }
            await Task.Delay(100);
        }
        throw new TimeoutException($"{Name}: {what} not reached within {timeout}. Output:\n{Output}");
    }

    /// <summary>Sends SIGTERM (graceful stop) and waits up to <paramref name="grace"/> before killing.</summary>
    public async Task StopAsync(TimeSpan grace)
    {
        if (_process.HasExited) return;
        try
        {
            using var kill = Process.Start("kill", ["-TERM", _process.Id.ToString()]);
            await kill.WaitForExitAsync();
            using var cts = new CancellationTokenSource(grace);
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (Exception)
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                await _process.WaitForExitAsync(cts.Token);
            }
        }
        catch (Exception)
        {
            // already gone
        }
        _process.Dispose();
    }

    private void Append(string? line, bool standardOutput)
    {
        if (line is null)
        {
            // A null line is the end of stdout or stderr.
            Interlocked.Increment(ref _streamsAtEnd);
            return;
        }
        lock (_gate)
        {
            AppendToTail(_output, line);
            if (standardOutput) AppendToTail(_standardOutput, line);
        }
    }

    // Keep the tail only: long-running servers can be chatty.
    private static void AppendToTail(StringBuilder text, string line)
    {
        if (text.Length > 1_000_000) text.Remove(0, 500_000);
        text.AppendLine(line);
    }

    private static string GroupOf(string user) => user == "nobody" ? "nogroup" : user;
}

/// <summary>How a program run to completion ended: exit code, stdout and stderr as read, and stdout alone.</summary>
public sealed record ProcessResult(int ExitCode, string Output, string StandardOutput)
{
    public void Deconstruct(out int exitCode, out string output)
    {
        exitCode = ExitCode;
        output = Output;
    }
}

/// <summary>Free TCP ports on loopback.</summary>
public static class Ports
{
    public static int GetFree()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>Locates the programs the tests need; a missing one fails with the command that installs it.</summary>
public static class Programs
{
    public static string Require(string name, params string[] extraDirectories)
    {
        var directories = extraDirectories.Concat((Environment.GetEnvironmentVariable("PATH") ?? "").Split(':'))
            .Concat(["/usr/sbin", "/usr/bin", "/sbin"]);
        foreach (var directory in directories.Where(d => d.Length > 0))
        {
            var candidate = Path.Combine(directory, name);
            if (File.Exists(candidate)) return candidate;
        }
        throw new InvalidOperationException(
            $"'{name}' is not installed. Run deploy/dev/install-dependencies.sh (it installs every program the tests use).");
    }
}
