using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Reflection;

namespace AnalysisFacility.Operator.Benchmarks;

/// <summary>
/// The operator as its own process (`run`), as it runs in a cluster, so that the memory measured is the operator's
/// alone and not the benchmark's client and bookkeeping. Writes are read from its /metrics.
/// </summary>
public sealed class OperatorProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly HttpClient _http;
    private readonly string _logPath;
    private bool _disposed;

    private OperatorProcess(Process process, Uri metrics, string logPath)
    {
        _process = process;
        _logPath = logPath;
        _http = new HttpClient { BaseAddress = metrics, Timeout = TimeSpan.FromSeconds(10) };
    }

    /// <summary>
    /// Starts `run` against <paramref name="kubeconfig"/>, watching <paramref name="namespace"/>, listening on loopback only.
    /// <paramref name="program"/> is another build of the operator to measure (a native one, say); null runs this one.
    /// The environment is inherited, so DOTNET_* settings given to the benchmark reach the operator.
    /// </summary>
    public static OperatorProcess Start(string kubeconfig, string @namespace, int workers, string logDirectory, string? program = null)
    {
        var httpPort = FreePort();
        var info = new ProcessStartInfo { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        // Under `dotnet run` the process is the apphost; under `dotnet X.dll` it is dotnet itself and needs the assembly.
        var self = program ?? Environment.ProcessPath ?? throw new InvalidOperationException("cannot tell which program this is");
        info.FileName = self;
        if (program is null && Path.GetFileNameWithoutExtension(self) == "dotnet") info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, Assembly.GetEntryAssembly()!.GetName().Name + ".dll"));
        foreach (var argument in new[]
                 {
                     "run", "--namespaces", @namespace, "--operator-namespace", @namespace, "--workers", workers.ToString(CultureInfo.InvariantCulture),
                     "--listen-address", "127.0.0.1", "--http-port", httpPort.ToString(CultureInfo.InvariantCulture),
                     "--issuer-port", FreePort().ToString(CultureInfo.InvariantCulture), "--log-level", "warning",
                 })
        {
            info.ArgumentList.Add(argument);
        }
        info.Environment["KUBECONFIG"] = kubeconfig;
        // As the image sets it (Dockerfile): the operator is measured as it ships.
        info.Environment["MALLOC_ARENA_MAX"] = "2";

        var logPath = Path.Combine(logDirectory, $"analysisfacility-bench-operator-{Environment.ProcessId}.log");
        var process = Process.Start(info) ?? throw new InvalidOperationException("the operator did not start");
        var log = new StreamWriter(logPath) { AutoFlush = true };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.WriteLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.WriteLine(e.Data); };
        process.Exited += (_, _) => { lock (log) log.Dispose(); };
        process.EnableRaisingEvents = true;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return new OperatorProcess(process, new Uri($"http://127.0.0.1:{httpPort}/"), logPath);
    }

    /// <summary>Waits until /readyz answers ok (caches synced).</summary>
    public async Task WaitReadyAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (_process.HasExited) throw new InvalidOperationException($"the operator exited with {_process.ExitCode}; see {_logPath}");
            try
            {
                using var response = await _http.GetAsync("readyz", cancellationToken);
                if (response.IsSuccessStatusCode) return;
            }
            catch (HttpRequestException)
            {
                // not listening yet
            }
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"the operator was not ready within {timeout}; see {_logPath}");
            await Task.Delay(100, cancellationToken);
        }
    }

    /// <summary>The operator's counters from /metrics, summed over labels, by metric name.</summary>
    public async Task<IReadOnlyDictionary<string, double>> CountersAsync(CancellationToken cancellationToken)
    {
        string text;
        try
        {
            text = await _http.GetStringAsync("metrics", cancellationToken);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            var state = _process.HasExited ? $"the operator exited with {_process.ExitCode}" : "the operator did not answer /metrics";
            throw new InvalidOperationException($"{state} ({e.Message}); its log: {_logPath}", e);
        }
        var sums = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n'))
        {
            if (line.Length == 0 || line[0] == '#') continue;
            var space = line.LastIndexOf(' ');
            if (space < 0 || !double.TryParse(line[(space + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out var value)) continue;
            var name = line[..space];
            var brace = name.IndexOf('{');
            if (brace >= 0) name = name[..brace];
            sums[name] = sums.GetValueOrDefault(name) + value;
        }
        return sums;
    }

    public async Task<long> WritesAsync(CancellationToken cancellationToken) =>
        (long)(await CountersAsync(cancellationToken)).GetValueOrDefault("analysisfacility_api_writes_total");

    /// <summary>Resident memory now and at its peak (VmRSS, VmHWM of /proc/PID/status), in bytes.</summary>
    public (long Current, long Peak) ResidentMemory()
    {
        long current = 0, peak = 0;
        foreach (var line in File.ReadLines($"/proc/{_process.Id}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal)) current = Kilobytes(line);
            else if (line.StartsWith("VmHWM:", StringComparison.Ordinal)) peak = Kilobytes(line);
        }
        return (current, peak);
    }

    /// <summary>
    /// Resident memory now split into anonymous pages (heaps), file pages (mapped assemblies and libraries) and shared memory
    /// (the runtime's double mapping of JIT code for W^X), in bytes.
    /// </summary>
    public (long Anonymous, long File, long Shared) ResidentBreakdown()
    {
        long anonymous = 0, file = 0, shared = 0;
        foreach (var line in File.ReadLines($"/proc/{_process.Id}/status"))
        {
            if (line.StartsWith("RssAnon:", StringComparison.Ordinal)) anonymous = Kilobytes(line);
            else if (line.StartsWith("RssFile:", StringComparison.Ordinal)) file = Kilobytes(line);
            else if (line.StartsWith("RssShmem:", StringComparison.Ordinal)) shared = Kilobytes(line);
        }
        return (anonymous, file, shared);
    }

    /// <summary>CPU time the operator has used (user + system, from /proc/PID/stat).</summary>
    public TimeSpan CpuTime()
    {
        var stat = File.ReadAllText($"/proc/{_process.Id}/stat");
        // Fields after the command name (which is in parentheses and may contain spaces); utime and stime are 14th and 15th.
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        return TimeSpan.FromSeconds(ticks / 100.0); // USER_HZ is 100 on Linux
    }

    private static long Kilobytes(string line) =>
        long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Stops the operator as the kubelet would (SIGTERM), then kills it if it does not stop in time.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed) return;
        _disposed = true;
        _http.Dispose();
        if (_process.HasExited)
        {
            _process.Dispose();
            return;
        }
        try
        {
            using var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)]);
            await kill.WaitForExitAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (Exception e) when (e is OperationCanceledException or System.ComponentModel.Win32Exception)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }
}
