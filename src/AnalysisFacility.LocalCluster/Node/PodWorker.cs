using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Serilog;

namespace AnalysisFacility.LocalCluster.Node;

/// <summary>
/// One pod on this node, from sandbox to clean-up: network namespace, volumes, init containers in order, then the
/// containers side by side; its status written whenever it changes; graceful termination on deletion.
/// </summary>
public sealed class PodWorker : IAsyncDisposable
{
    private readonly NodeContext _node;
    private readonly PodNetwork _network;
    private readonly IKubernetes _client;
    private readonly ILogger _log;
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _changed = new(0);
    private readonly DateTime _startTime = DateTime.UtcNow;
    // Replaced whole (never mutated) once the sandbox exists: the status loop reads them concurrently.
    private IReadOnlyList<ContainerRunner> _init = [];
    private IReadOnlyList<ContainerRunner> _containers = [];
    private Task _run = Task.CompletedTask;
    private Task _status = Task.CompletedTask;
    private PodSandbox? _sandbox;
    private string _phase = "Pending";
    private bool _initialized;
    private string? _waitingMessage;
    private string? _lastStatus;
    private int _terminating;

    public PodWorker(V1Pod pod, NodeContext node, PodNetwork network, IKubernetes client, ILogger log)
    {
        Pod = pod;
        _node = node;
        _network = network;
        _client = client;
        _log = log.ForContext("Pod", $"{pod.Metadata.NamespaceProperty}/{pod.Metadata.Name}");
    }

    public V1Pod Pod { get; }
    public PodSandbox? Sandbox => _sandbox;
    public IReadOnlyList<ContainerRunner> Containers => _init.Concat(_containers).ToList();
    public bool Terminating => _terminating != 0;

    public void Start()
    {
        _run = Task.Run(() => RunAsync(_stop.Token));
        _status = Task.Run(() => StatusLoopAsync(_stop.Token));
    }

    private void Changed() => _changed.Release();

    private async Task RunAsync(CancellationToken ct)
    {
        try
        {
            var (netns, ip) = await _network.CreatePodNamespaceAsync(Pod.Metadata.Uid, ct);
            _sandbox = new PodSandbox(_node, Pod, netns, ip, Changed);
            var sandbox = _sandbox;
            _init = (Pod.Spec.InitContainers ?? []).Select(c => new ContainerRunner(sandbox, c, isInit: true, _log)).ToList();
            _containers = Pod.Spec.Containers.Select(c => new ContainerRunner(sandbox, c, isInit: false, _log)).ToList();
            Changed();
            while (true)
            {
                try
                {
                    await _sandbox.Volumes.SetUpAsync(ct);
                    _waitingMessage = null;
                    break;
                }
                catch (VolumeNotReadyException e)
                {
                    _waitingMessage = $"MountVolume.SetUp failed: {e.Message}";
                    Changed();
                    await Task.Delay(TimeSpan.FromSeconds(2), ct);
                }
            }
            Changed();
            foreach (var init in _init)
            {
                var exit = await init.RunAsync(ct);
                if (exit != 0)
                {
                    _phase = "Failed";
                    Changed();
                    return;
                }
            }
            _initialized = true;
            _phase = "Running";
            Changed();
            var exits = await Task.WhenAll(_containers.Select(c => c.RunAsync(ct)));
            _phase = exits.All(e => e == 0) ? "Succeeded" : "Failed";
            Changed();
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            _log.Error(e, "Pod could not be run");
            _waitingMessage = e.Message;
            Changed();
        }
    }

    private async Task StatusLoopAsync(CancellationToken ct)
    {
        var lastRefresh = DateTime.UtcNow;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await _changed.WaitAsync(TimeSpan.FromSeconds(2), ct);
                // Coalesce a burst of changes into one write.
                await Task.Delay(100, ct);
                while (_changed.CurrentCount > 0) await _changed.WaitAsync(ct);
                if (_sandbox is { } sandbox)
                {
                    sandbox.UpdateHostsFile();
                    if (DateTime.UtcNow - lastRefresh > TimeSpan.FromSeconds(2) && _initialized)
                    {
                        await sandbox.Volumes.RefreshAsync(ct);
                        lastRefresh = DateTime.UtcNow;
                    }
                }
                await WriteStatusAsync(ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // Whatever went wrong, the loop must go on: a pod whose status stops being written looks stuck.
                _log.Debug("Pod status not written: {Error}", e.Message);
            }
        }
    }

    private async Task WriteStatusAsync(CancellationToken ct)
    {
        var ip = _sandbox?.PodIp.ToString() ?? "";
        var reports = _containers.Select(c => c.Report()).ToList();
        // Running means a container has started; containers that never could (not runnable here, config errors) keep the pod Pending.
        var phase = _phase == "Running" && reports.All(r => r.State is ContainerState.Waiting && r.RestartCount == 0) ? "Pending" : _phase;
        var status = PodStatusBuilder.Build(phase, ip, _network.NodeAddress.ToString(), _startTime, _initialized,
            _init.Select(c => c.Report()).ToList(), reports, _waitingMessage);
        if (_sandbox is null)
        {
            status.PodIP = null;
            status.PodIPs = null;
        }
        // A merge patch removes a field only when it says null: the serializer leaves nulls out, so clear the ones
        // that come and go (a waiting message, the address before the sandbox exists) explicitly.
        var json = System.Text.Json.Nodes.JsonNode.Parse(KubernetesJson.Serialize(status))!.AsObject();
        foreach (var field in new[] { "message", "podIP", "podIPs", "initContainerStatuses" }) json.TryAdd(field, null);
        var body = new System.Text.Json.Nodes.JsonObject { ["status"] = json }.ToJsonString();
        if (body == _lastStatus) return;
        await _client.CoreV1.PatchNamespacedPodStatusAsync(new V1Patch(body, V1Patch.PatchType.MergePatch), Pod.Metadata.Name,
            Pod.Metadata.NamespaceProperty, cancellationToken: ct);
        _lastStatus = body;
    }

    /// <summary>Graceful deletion: stop every container within the grace period, clean up, then remove the pod object.</summary>
    public async Task TerminateAsync(TimeSpan grace, bool deleteObject)
    {
        if (Interlocked.Exchange(ref _terminating, 1) != 0) return;
        await StopContainersAsync(grace);
        await CleanUpAsync();
        if (!deleteObject) return;
        try
        {
            await _client.CoreV1.DeleteNamespacedPodAsync(Pod.Metadata.Name, Pod.Metadata.NamespaceProperty,
                new V1DeleteOptions { GracePeriodSeconds = 0, Preconditions = new V1Preconditions { Uid = Pod.Metadata.Uid } });
        }
        catch (HttpOperationException e) when (e.Response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Conflict)
        {
            // already gone, or replaced by a pod of the same name
        }
    }

    private async Task StopContainersAsync(TimeSpan grace)
    {
        _stop.Cancel();
        await Task.WhenAll(_containers.Concat(_init).Select(c => c.StopAsync(grace)));
        try
        {
            await _run;
        }
        catch (OperationCanceledException)
        {
        }
        await _status;
    }

    private async Task CleanUpAsync()
    {
        if (_sandbox is not { } sandbox) return;
        foreach (var mount in sandbox.Volumes.Mounts) await HostCommands.TryRunAsync("umount", ["-l", mount]);
        await _network.DeletePodNamespaceAsync(sandbox.Netns, sandbox.PodIp, CancellationToken.None);
        try
        {
            Directory.Delete(sandbox.Directory, recursive: true);
        }
        catch (IOException e)
        {
            _log.Warning("Could not remove {Directory}: {Error}", sandbox.Directory, e.Message);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await TerminateAsync(TimeSpan.FromSeconds(2), deleteObject: false);
        _stop.Dispose();
    }

}
