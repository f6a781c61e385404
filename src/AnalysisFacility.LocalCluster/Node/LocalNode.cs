using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Serilog;

namespace AnalysisFacility.LocalCluster.Node;

/// <summary>Options of a local node.</summary>
public sealed record LocalNodeOptions
{
    public string Name { get; init; } = "local-node";
    /// <summary>What the node offers the scheduler; this machine's cores and memory and no GPUs unless told otherwise.</summary>
    public NodeCapacity? Capacity { get; init; }
    public TimeSpan LeaseDuration { get; init; } = TimeSpan.FromSeconds(40);
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromMilliseconds(500);
    /// <summary>The API server's address on this machine, which pods reach through the `kubernetes` Service.</summary>
    public IPEndPoint? ApiServer { get; init; }
}

/// <summary>
/// A Kubernetes node on this machine that runs the pods the scheduler binds to it as real processes: a Node object
/// kept Ready with a Lease heartbeat, a network namespace per pod on a bridge, volumes as bind mounts in a private
/// mount namespace per container, probes and restarts as a kubelet does them, and a userspace Service proxy with
/// cluster DNS names in each pod's hosts file. Needs root (network and mount namespaces). Knows nothing of what it runs.
/// </summary>
public sealed class LocalNode : IAsyncDisposable
{
    private readonly IKubernetes _client;
    private readonly LocalNodeOptions _options;
    private readonly ILogger _log;
    private readonly NodeSlot _slot;
    private readonly PodNetwork _network;
    private readonly NodeContext _context;
    private readonly ServiceProxy _proxy;
    private readonly VolumeProvisioner _provisioner;
    private readonly Dictionary<string, PodWorker> _workers = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = new();
    private Task _loops = Task.CompletedTask;

    private LocalNode(IKubernetes client, LocalNodeOptions options, NodeSlot slot, ILogger log)
    {
        _client = client;
        _options = options;
        _slot = slot;
        _log = log.ForContext<LocalNode>();
        _network = new PodNetwork(slot);
        _context = new NodeContext(slot, new KubeReads(client), options.Capacity ?? NodeCapacity.OfThisMachine());
        _proxy = new ServiceProxy(_network, options.ApiServer, _log);
        _provisioner = new VolumeProvisioner(client, slot, options.Name, _log);
    }

    public string Name => _options.Name;
    public NodeSlot Slot => _slot;
    public IPAddress Address => _network.NodeAddress;

    /// <summary>Claims a slot (clearing what a crashed run left in it) and sets up the bridge; call <see cref="StartAsync"/> next.</summary>
    public static async Task<LocalNode> CreateAsync(IKubernetes client, LocalNodeOptions options, NodeSlot slot, ILogger log, CancellationToken ct)
    {
        var node = new LocalNode(client, options, slot, log);
        await node._network.CreateBridgeAsync(ct);
        return node;
    }

    /// <summary>Whether this process may run a local node: root, with `ip netns` and `unshare` available.</summary>
    public static string? WhyUnavailable()
    {
        if (Environment.UserName != "root" && !string.Equals(Environment.GetEnvironmentVariable("USER"), "root", StringComparison.Ordinal)
            && File.ReadAllText("/proc/self/status").Split('\n').FirstOrDefault(l => l.StartsWith("Uid:", StringComparison.Ordinal))?.Split('\t')[1] != "0")
        {
            return "the local node needs root (network and mount namespaces)";
        }
        foreach (var tool in new[] { "/usr/bin/nsenter", "/usr/bin/unshare", "/usr/bin/setpriv", "/usr/bin/setsid" })
        {
            if (!File.Exists(tool)) return $"{tool} is missing (util-linux)";
        }
        return null;
    }

    public async Task StartAsync(CancellationToken ct)
    {
        await RegisterAsync(ct);
        await _provisioner.InstallAsync(ct);
        await SyncServicesAsync(ct);
        _loops = Task.WhenAll(
            Task.Run(() => LoopAsync("heartbeat", TimeSpan.FromSeconds(10), HeartbeatAsync, _stop.Token)),
            Task.Run(() => LoopAsync("services", TimeSpan.FromSeconds(1), SyncServicesAsync, _stop.Token)),
            Task.Run(() => LoopAsync("volumes", TimeSpan.FromSeconds(1), _provisioner.SyncAsync, _stop.Token)),
            Task.Run(() => LoopAsync("pods", _options.PollInterval, SyncPodsAsync, _stop.Token)));
    }

    /// <summary>The ClusterIP of a Service as this node's proxy serves it, or null (unknown, headless).</summary>
    public string? ServiceAddress(string ns, string name) =>
        _context.Services.FirstOrDefault(s => s.Metadata.NamespaceProperty == ns && s.Metadata.Name == name)?.Spec.ClusterIP is { Length: > 0 } ip && ip != "None" ? ip : null;

    /// <summary>The worker of a pod running here, by namespace and name.</summary>
    public PodWorker? Find(string ns, string name)
    {
        lock (_workers) return _workers.Values.FirstOrDefault(w => w.Pod.Metadata.NamespaceProperty == ns && w.Pod.Metadata.Name == name && !w.Terminating);
    }

    /// <summary>Runs a command in a container of a running pod, as `kubectl exec` does.</summary>
    public async Task<ExecResult> ExecAsync(string ns, string pod, string? container, IReadOnlyList<string> command, TimeSpan timeout, CancellationToken ct)
    {
        var worker = Find(ns, pod) ?? throw new InvalidOperationException($"pod {ns}/{pod} is not running on node {Name}");
        var runner = worker.Containers.FirstOrDefault(c => container is null ? c.Spec == worker.Pod.Spec.Containers[0] : c.Name == container)
                     ?? throw new InvalidOperationException($"pod {ns}/{pod} has no container {container}");
        return await worker.Sandbox!.ExecAsync(runner, command, timeout, ct);
    }

    /// <summary>The log file of a container (stdout and stderr), by pod and container name.</summary>
    public string? LogPath(string ns, string pod, string? container) =>
        Find(ns, pod) is { } worker ? worker.Containers.FirstOrDefault(c => container is null || c.Name == container)?.LogPath : null;

    private async Task LoopAsync(string what, TimeSpan interval, Func<CancellationToken, Task> step, CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await step(ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is HttpOperationException or HttpRequestException or IOException or InvalidOperationException)
            {
                _log.Debug("Node {What} step failed: {Error}", what, e.Message);
            }
            try
            {
                await Task.Delay(interval, ct);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task RegisterAsync(CancellationToken ct)
    {
        var node = new V1Node
        {
            Metadata = new V1ObjectMeta
            {
                Name = Name,
                Labels = new Dictionary<string, string>
                {
                    ["kubernetes.io/hostname"] = Name, ["kubernetes.io/os"] = "linux", ["kubernetes.io/arch"] = "amd64",
                    ["node.kubernetes.io/instance-type"] = "local-node",
                },
            },
            Spec = new V1NodeSpec { PodCIDR = _slot.PodCidr, PodCIDRs = [_slot.PodCidr] },
        };
        try
        {
            await _client.CoreV1.CreateNodeAsync(node, cancellationToken: ct);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Conflict)
        {
            // registered by an earlier run of this node
        }
        await HeartbeatAsync(ct);
        await UntaintAsync(ct);
    }

    /// <summary>
    /// The API server taints a new Node not-ready until the node lifecycle controller sees it Ready; this control
    /// plane runs no such controller, so the node, which knows it is Ready, lifts the taint itself.
    /// </summary>
    private async Task UntaintAsync(CancellationToken ct)
    {
        var node = await _client.CoreV1.ReadNodeAsync(Name, cancellationToken: ct);
        var taints = node.Spec?.Taints ?? [];
        var kept = taints.Where(t => t.Key is not ("node.kubernetes.io/not-ready" or "node.kubernetes.io/unreachable")).ToList();
        if (kept.Count == taints.Count) return;
        node.Spec!.Taints = kept;
        // KubernetesClient.Aot cannot write managedFields back (fieldsV1 is read as a JsonElement its metadata lacks); an
        // update that omits them leaves the server's unchanged.
        node.Metadata.ManagedFields = null;
        await _client.CoreV1.ReplaceNodeAsync(node, Name, cancellationToken: ct);
    }

    private async Task HeartbeatAsync(CancellationToken ct)
    {
        var now = DateTime.UtcNow;
        var capacity = _context.Capacity.ToQuantities();
        var status = new V1NodeStatus
        {
            Capacity = capacity,
            Allocatable = capacity,
            Addresses = [new V1NodeAddress { Type = "InternalIP", Address = _slot.BridgeAddress }, new V1NodeAddress { Type = "Hostname", Address = Name }],
            Conditions =
            [
                new V1NodeCondition { Type = "Ready", Status = "True", Reason = "KubeletReady", Message = "local node is posting ready status", LastHeartbeatTime = now, LastTransitionTime = now },
                new V1NodeCondition { Type = "MemoryPressure", Status = "False", Reason = "KubeletHasSufficientMemory", LastHeartbeatTime = now, LastTransitionTime = now },
                new V1NodeCondition { Type = "DiskPressure", Status = "False", Reason = "KubeletHasNoDiskPressure", LastHeartbeatTime = now, LastTransitionTime = now },
                new V1NodeCondition { Type = "PIDPressure", Status = "False", Reason = "KubeletHasSufficientPID", LastHeartbeatTime = now, LastTransitionTime = now },
            ],
            NodeInfo = new V1NodeSystemInfo
            {
                Architecture = "amd64", OperatingSystem = "linux", KubeletVersion = "v1.20.0-localnode", KubeProxyVersion = "v1.20.0-localnode",
                ContainerRuntimeVersion = "localnode://1", OsImage = "this machine", KernelVersion = Environment.OSVersion.Version.ToString(),
                MachineID = "", SystemUUID = "", BootID = "",
            },
        };
        await _client.CoreV1.PatchNodeStatusAsync(new V1Patch(new System.Text.Json.Nodes.JsonObject { ["status"] = System.Text.Json.Nodes.JsonNode.Parse(KubernetesJson.Serialize(status)) }.ToJsonString(),
            V1Patch.PatchType.MergePatch), Name, cancellationToken: ct);
        await RenewLeaseAsync(ct);
    }

    private async Task RenewLeaseAsync(CancellationToken ct)
    {
        var lease = new V1Lease
        {
            Metadata = new V1ObjectMeta { Name = Name, NamespaceProperty = "kube-node-lease" },
            Spec = new V1LeaseSpec { HolderIdentity = Name, LeaseDurationSeconds = (int)_options.LeaseDuration.TotalSeconds, RenewTime = DateTime.UtcNow },
        };
        try
        {
            var existing = await _client.CoordinationV1.ReadNamespacedLeaseAsync(Name, "kube-node-lease", cancellationToken: ct);
            existing.Spec = lease.Spec;
            existing.Metadata.ManagedFields = null; // as in UntaintAsync
            await _client.CoordinationV1.ReplaceNamespacedLeaseAsync(existing, Name, "kube-node-lease", cancellationToken: ct);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            await _client.CoordinationV1.CreateNamespacedLeaseAsync(lease, "kube-node-lease", cancellationToken: ct);
        }
    }

    private async Task SyncServicesAsync(CancellationToken ct)
    {
        var services = await _client.CoreV1.ListServiceForAllNamespacesAsync(cancellationToken: ct);
        var endpoints = await _client.CoreV1.ListEndpointsForAllNamespacesAsync(cancellationToken: ct);
        var byKey = endpoints.Items.ToDictionary(e => $"{e.Metadata.NamespaceProperty}/{e.Metadata.Name}", StringComparer.Ordinal);
        _context.Services = services.Items.ToList();
        _context.Endpoints = byKey;
        await _proxy.SyncAsync(_context.Services, byKey, ct);
    }

    private async Task SyncPodsAsync(CancellationToken ct)
    {
        var pods = await _client.CoreV1.ListPodForAllNamespacesAsync(fieldSelector: $"spec.nodeName={Name}", cancellationToken: ct);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var pod in pods.Items)
        {
            var uid = pod.Metadata.Uid;
            seen.Add(uid);
            PodWorker? worker;
            lock (_workers) _workers.TryGetValue(uid, out worker);
            if (pod.Metadata.DeletionTimestamp is not null)
            {
                if (worker is null)
                {
                    await DeleteNowAsync(pod, ct);
                    continue;
                }
                var grace = TimeSpan.FromSeconds(pod.Metadata.DeletionGracePeriodSeconds ?? pod.Spec.TerminationGracePeriodSeconds ?? 30);
                _ = Task.Run(async () =>
                {
                    await worker.TerminateAsync(grace, deleteObject: true);
                    lock (_workers) _workers.Remove(uid);
                }, CancellationToken.None);
                continue;
            }
            if (worker is null && pod.Status?.Phase is not ("Succeeded" or "Failed"))
            {
                worker = new PodWorker(pod, _context, _network, _client, _log);
                lock (_workers) _workers[uid] = worker;
                _log.Information("Starting pod {Namespace}/{Pod}", pod.Metadata.NamespaceProperty, pod.Metadata.Name);
                worker.Start();
            }
        }
        List<(string Uid, PodWorker Worker)> gone;
        lock (_workers) gone = _workers.Where(w => !seen.Contains(w.Key) && !w.Value.Terminating).Select(w => (w.Key, w.Value)).ToList();
        foreach (var (uid, worker) in gone)
        {
            // Deleted with grace 0 by someone else: the object is gone, the processes must follow.
            _ = Task.Run(async () =>
            {
                await worker.TerminateAsync(TimeSpan.FromSeconds(2), deleteObject: false);
                lock (_workers) _workers.Remove(uid);
            }, CancellationToken.None);
        }
    }

    private async Task DeleteNowAsync(V1Pod pod, CancellationToken ct)
    {
        try
        {
            await _client.CoreV1.DeleteNamespacedPodAsync(pod.Metadata.Name, pod.Metadata.NamespaceProperty,
                new V1DeleteOptions { GracePeriodSeconds = 0, Preconditions = new V1Preconditions { Uid = pod.Metadata.Uid } }, cancellationToken: ct);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Conflict)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        await _loops;
        List<PodWorker> workers;
        lock (_workers) workers = _workers.Values.ToList();
        await Task.WhenAll(workers.Select(w => w.DisposeAsync().AsTask()));
        await _proxy.DisposeAsync();
        foreach (var shared in _context.SharedMounts) await HostCommands.TryRunAsync("umount", ["-R", "-l", shared]);
        await _slot.ClearLeftoversAsync(_log, CancellationToken.None);
        _stop.Dispose();
    }
}
