using k8s.Models;

namespace AnalysisFacility.LocalCluster.Node;

/// <summary>What every pod of the node shares: the slot, API reads, capacity, and the current Services and endpoints.</summary>
public sealed class NodeContext
{
    private readonly HashSet<string> _shared = new(StringComparer.Ordinal);

    public NodeContext(NodeSlot slot, KubeReads reads, NodeCapacity capacity)
    {
        Slot = slot;
        Reads = reads;
        Capacity = capacity;
        Environment = new ContainerEnvironment(reads);
    }

    public NodeSlot Slot { get; }
    public KubeReads Reads { get; }
    public NodeCapacity Capacity { get; }
    public ContainerEnvironment Environment { get; }
    public IReadOnlyList<V1Service> Services { get; set; } = [];
    public IReadOnlyDictionary<string, V1Endpoints> Endpoints { get; set; } = new Dictionary<string, V1Endpoints>();

    /// <summary>
    /// Makes a host directory a shared mount (bound onto itself), so that mounts made under it in a container with
    /// Bidirectional propagation appear on the host and in HostToContainer mounts of other containers.
    /// </summary>
    public void MakeShared(string path)
    {
        lock (_shared)
        {
            if (!_shared.Add(path)) return;
            Slot.RecordLine(Slot.SharedMountsFile, path);
            HostCommands.RunAsync("mount", ["--bind", path, path]).GetAwaiter().GetResult();
            HostCommands.RunAsync("mount", ["--make-shared", path]).GetAwaiter().GetResult();
        }
    }

    public IReadOnlyCollection<string> SharedMounts
    {
        get
        {
            lock (_shared) return _shared.ToList();
        }
    }
}
