using System.Diagnostics;
using k8s.Models;
using Serilog;

namespace AnalysisFacility.LocalCluster.Node;

/// <summary>
/// Runs one container of a pod for as long as the pod lives: starts it, restarts it by the pod's restart policy with
/// the kubelet's back-off, evaluates its startup, readiness and liveness probes, and stops it gracefully.
/// </summary>
public sealed class ContainerRunner
{
    private readonly PodSandbox _sandbox;
    private readonly V1Container _container;
    private readonly bool _isInit;
    private readonly ILogger _log;
    private readonly object _gate = new();
    private ContainerState _state = new ContainerState.Waiting("ContainerCreating", "");
    private ContainerState.Terminated? _last;
    private int _restarts;
    private bool _ready;
    private bool _started;
    private Process? _process;
    private Dictionary<string, string> _env = [];
    private CancellationTokenSource? _runStop;

    public ContainerRunner(PodSandbox sandbox, V1Container container, bool isInit, ILogger log)
    {
        _sandbox = sandbox;
        _container = container;
        _isInit = isInit;
        _log = log.ForContext("Container", container.Name);
    }

    public string Name => _container.Name;
    public string LogPath => Path.Combine(_sandbox.Directory, "logs", _container.Name + ".log");

    public ContainerReport Report()
    {
        lock (_gate) return new ContainerReport(_container.Name, _container.Image ?? "", _state, _last, _restarts, _ready, _started);
    }

    public int? Pid
    {
        get
        {
            lock (_gate) return _process is { HasExited: false } p ? p.Id : null;
        }
    }

    public IReadOnlyDictionary<string, string> Environment
    {
        get
        {
            lock (_gate) return _env;
        }
    }

    public V1Container Spec => _container;

    /// <summary>Runs until the container is done for good (an init container that succeeded, a policy that stops) or until stopped.</summary>
    public async Task<int> RunAsync(CancellationToken stop)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(LogPath)!);
        while (true)
        {
            stop.ThrowIfCancellationRequested();
            int exitCode;
            try
            {
                exitCode = await RunOnceAsync(stop);
            }
            catch (VolumeNotReadyException e)
            {
                SetState(new ContainerState.Waiting("CreateContainerConfigError", e.Message));
                await Task.Delay(TimeSpan.FromSeconds(2), stop);
                continue;
            }
            catch (NotRunnableException e)
            {
                SetState(new ContainerState.Waiting("ImageNotRunnableHere", e.Message));
                _sandbox.Changed();
                await Task.Delay(TimeSpan.FromSeconds(10), stop);
                continue;
            }
            if (!RestartPolicy.Restarts(_sandbox.Pod.Spec.RestartPolicy, exitCode, _isInit)) return exitCode;
            var ranFor = _last is { } last ? last.FinishedAt - last.StartedAt : TimeSpan.Zero;
            if (ranFor > RestartPolicy.BackoffReset) lock (_gate) _restarts = 0;
            var delay = RestartPolicy.Backoff(_restarts);
            lock (_gate) _restarts++;
            if (delay > TimeSpan.Zero)
            {
                SetState(new ContainerState.Waiting("CrashLoopBackOff", $"back-off {delay.TotalSeconds:0}s restarting failed container={_container.Name} pod={_sandbox.Pod.Metadata.Name}"));
                await Task.Delay(delay, stop);
            }
        }
    }

    private async Task<int> RunOnceAsync(CancellationToken stop)
    {
        var env = await _sandbox.EnvironmentForAsync(_container, stop);
        var command = (_container.Command ?? []).Concat(_container.Args ?? []).Select(a => ContainerEnvironment.Expand(a, env)).ToList();
        if (ProgramLocator.WhyNotRunnable(command, _container.Image ?? "", env.GetValueOrDefault("PATH", ContainerEnvironment.DefaultPath)) is { } why)
        {
            throw new NotRunnableException(why);
        }
        var identity = ContainerIdentity.Of(_sandbox.Pod, _container);
        env.TryAdd("HOME", identity.Home());
        var mounts = _sandbox.MountsFor(_container, env);
        var script = Path.Combine(_sandbox.Directory, "containers", _container.Name + ".sh");
        Directory.CreateDirectory(Path.GetDirectoryName(script)!);
        await File.WriteAllTextAsync(script, ContainerLaunch.Script(_sandbox.Hostname, mounts, _sandbox.HostsFile, _sandbox.ResolvConf,
            _container.WorkingDir, identity), stop);
        var argv = ContainerLaunch.Command(_sandbox.Netns, script, LogPath, mounts.Any(m => m.Propagates), command);
        var info = new ProcessStartInfo(argv[0]) { UseShellExecute = false };
        foreach (var argument in argv.Skip(1)) info.ArgumentList.Add(argument);
        info.Environment.Clear();
        foreach (var (k, v) in env) info.Environment[k] = v;
        var process = Process.Start(info) ?? throw new InvalidOperationException("could not start the container");
        var startedAt = DateTime.UtcNow;
        _sandbox.RecordProcess(process.Id);
        lock (_gate)
        {
            _process = process;
            _env = env;
            _state = new ContainerState.Running(startedAt);
            _ready = false;
            _started = _container.StartupProbe is null;
        }
        _log.Debug("Started {Command} as pid {Pid}", command[0], process.Id);
        _sandbox.Changed();
        using var runStop = CancellationTokenSource.CreateLinkedTokenSource(stop);
        lock (_gate) _runStop = runStop;
        var probes = _isInit ? Task.CompletedTask : ProbeLoopAsync(process, runStop.Token);
        try
        {
            await process.WaitForExitAsync(stop);
        }
        catch (OperationCanceledException)
        {
            // The pod is stopping: StopAsync ends the process.
            await process.WaitForExitAsync(CancellationToken.None);
        }
        runStop.Cancel();
        try
        {
            await probes;
        }
        catch (OperationCanceledException)
        {
        }
        // Whatever the main process left behind dies with the container, as in a runtime's cgroup.
        ProcessTable.KillSession(process.Id);
        var exitCode = process.ExitCode;
        var finished = DateTime.UtcNow;
        var terminated = new ContainerState.Terminated(exitCode, RestartPolicy.TerminationReason(exitCode), startedAt, finished);
        lock (_gate)
        {
            _state = terminated;
            _last = terminated;
            _ready = false;
            _process = null;
            _runStop = null;
        }
        process.Dispose();
        _log.Debug("Exited with {ExitCode}", exitCode);
        _sandbox.Changed();
        return exitCode;
    }

    private async Task ProbeLoopAsync(Process process, CancellationToken ct)
    {
        var startup = new ProbeTracker(_container.StartupProbe);
        var readiness = new ProbeTracker(_container.ReadinessProbe);
        var liveness = new ProbeTracker(_container.LivenessProbe);
        var started = DateTime.UtcNow;
        if (_container.StartupProbe is null && _container.ReadinessProbe is null) SetReady(true);
        while (!ct.IsCancellationRequested)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(250), ct);
            var now = DateTime.UtcNow;
            var elapsed = now - started;
            if (!_started)
            {
                if (startup.Due(now, elapsed))
                {
                    startup.Record(now, await RunProbeAsync(_container.StartupProbe!, ct));
                    if (startup.Passing == true)
                    {
                        lock (_gate) _started = true;
                        if (_container.ReadinessProbe is null) SetReady(true);
                        _sandbox.Changed();
                    }
                    else if (startup.Passing == false)
                    {
                        await KillForRestartAsync(process, "startup probe failed");
                        return;
                    }
                }
                continue;
            }
            if (_container.ReadinessProbe is { } readinessProbe && readiness.Due(now, elapsed))
            {
                readiness.Record(now, await RunProbeAsync(readinessProbe, ct));
                if (readiness.Passing is { } passing) SetReady(passing);
            }
            if (_container.LivenessProbe is { } livenessProbe && liveness.Due(now, elapsed))
            {
                liveness.Record(now, await RunProbeAsync(livenessProbe, ct));
                if (liveness.Passing == false)
                {
                    await KillForRestartAsync(process, "liveness probe failed");
                    return;
                }
            }
        }
    }

    private Task<bool> RunProbeAsync(V1Probe probe, CancellationToken ct) =>
        Probe.RunAsync(probe, _sandbox.PodIp, _container, async (command, timeout, token) => (await _sandbox.ExecAsync(this, command, timeout, token)).ExitCode, ct);

    private async Task KillForRestartAsync(Process process, string why)
    {
        _log.Information("Container {Container} of {Pod}: {Why}, restarting", _container.Name, _sandbox.Pod.Metadata.Name, why);
        SetReady(false);
        await TerminateAsync(process, TimeSpan.FromSeconds(_sandbox.Pod.Spec.TerminationGracePeriodSeconds ?? 30), CancellationToken.None);
    }

    private void SetReady(bool ready)
    {
        bool changed;
        lock (_gate)
        {
            changed = _ready != ready;
            _ready = ready;
        }
        if (changed) _sandbox.Changed();
    }

    private void SetState(ContainerState state)
    {
        lock (_gate) _state = state;
        _sandbox.Changed();
    }

    /// <summary>Stops the running process: preStop hook, SIGTERM, and SIGKILL for everything left at the deadline.</summary>
    public async Task StopAsync(TimeSpan grace)
    {
        Process? process;
        lock (_gate) process = _process;
        if (process is null) return;
        var deadline = DateTime.UtcNow + grace;
        if (_container.Lifecycle?.PreStop?.Exec is { } preStop)
        {
            try
            {
                await _sandbox.ExecAsync(this, preStop.Command.ToList(), grace, CancellationToken.None);
            }
            catch (Exception e) when (e is InvalidOperationException or IOException)
            {
                _log.Debug("preStop hook failed: {Error}", e.Message);
            }
        }
        var left = deadline - DateTime.UtcNow;
        await TerminateAsync(process, left > TimeSpan.Zero ? left : TimeSpan.Zero, CancellationToken.None);
    }

    private static async Task TerminateAsync(Process process, TimeSpan grace, CancellationToken ct)
    {
        try
        {
            if (process.HasExited) return;
            _ = Native.Kill(process.Id, Native.SIGTERM);
            using var timeout = new CancellationTokenSource(grace);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, ct);
            try
            {
                await process.WaitForExitAsync(linked.Token);
            }
            catch (OperationCanceledException)
            {
                ProcessTable.KillSession(process.Id);
                await process.WaitForExitAsync(CancellationToken.None);
            }
        }
        catch (InvalidOperationException)
        {
            // already gone
        }
    }

    private sealed class NotRunnableException(string message) : Exception(message);
}
