using Serilog;

namespace AnalysisFacility.LocalCluster.Node;

/// <summary>
/// One of the local nodes this machine can run at once. A slot owns a bridge, a pod range, a Service range for its
/// control plane and a state directory; it is claimed with a lock file the kernel releases when the process dies,
/// so whoever claims it next knows that whatever the slot's state directory records was left by a crashed run and
/// clears it (processes, mounts, network namespaces, the bridge, created mount points).
/// </summary>
public sealed class NodeSlot : IDisposable
{
    public const int Count = 16;
    public const string StateRoot = "/run/af-local-node";
    public const string DataRoot = "/var/lib/af-local-node";
    private readonly FileStream _lock;

    private NodeSlot(int index, FileStream lockFile)
    {
        Index = index;
        _lock = lockFile;
    }

    public int Index { get; }
    public string BridgeName => $"afbr{Index}";
    /// <summary>Network namespaces of this slot's pods are named with this prefix.</summary>
    public string NetnsPrefix => $"afp{Index}-";
    public string PodCidr => $"10.88.{Index}.0/24";
    public string BridgeAddress => $"10.88.{Index}.1";
    /// <summary>The Service range of the control plane this node serves (distinct per slot, so two clusters never share an address).</summary>
    public string ServiceCidr => $"10.{100 + Index}.0.0/16";
    public string StateDirectory => Path.Combine(StateRoot, $"slot-{Index}");
    public string PodsDirectory => Path.Combine(DataRoot, $"slot-{Index}", "pods");
    /// <summary>Processes started for containers, one "pid starttime" line each, so a crashed run's are found.</summary>
    public string ProcessesFile => Path.Combine(StateDirectory, "processes");
    /// <summary>Host paths created as mount points (removed again when empty).</summary>
    public string CreatedPathsFile => Path.Combine(StateDirectory, "created-paths");
    /// <summary>Host paths bind-mounted onto themselves and made shared for mount propagation.</summary>
    public string SharedMountsFile => Path.Combine(StateDirectory, "shared-mounts");

    public static async Task<NodeSlot> ClaimAsync(ILogger log, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(StateRoot);
        for (var index = 0; index < Count; index++)
        {
            FileStream lockFile;
            try
            {
                // .NET takes an advisory flock for FileShare.None: held until this process closes it or dies.
                lockFile = new FileStream(Path.Combine(StateRoot, $"slot-{index}.lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException)
            {
                continue;
            }
            var slot = new NodeSlot(index, lockFile);
            await slot.ClearLeftoversAsync(log, cancellationToken);
            Directory.CreateDirectory(slot.StateDirectory);
            Directory.CreateDirectory(slot.PodsDirectory);
            return slot;
        }
        throw new InvalidOperationException($"all {Count} local node slots are in use on this machine");
    }

    public void RecordLine(string file, string line)
    {
        lock (_lock) File.AppendAllText(file, line + "\n");
    }

    /// <summary>Removes everything a run in this slot may have left (called at claim and at dispose).</summary>
    public async Task ClearLeftoversAsync(ILogger log, CancellationToken cancellationToken)
    {
        var cleared = 0;
        foreach (var line in ReadLines(ProcessesFile))
        {
            var parts = line.Split(' ');
            if (parts.Length == 2 && int.TryParse(parts[0], out var pid) && ProcessTable.StartTime(pid) == parts[1])
            {
                ProcessTable.KillSession(pid);
                cleared++;
            }
        }
        foreach (var mount in MountsUnder(Path.Combine(DataRoot, $"slot-{Index}")).Concat(ReadLines(SharedMountsFile)).Reverse())
        {
            await HostCommands.TryRunAsync("umount", ["-R", "-l", mount], cancellationToken);
        }
        var (_, namespaces) = await HostCommands.TryRunAsync("ip", ["netns", "list"], cancellationToken);
        foreach (var name in namespaces.Split('\n').Select(l => l.Split(' ')[0]).Where(n => n.StartsWith(NetnsPrefix, StringComparison.Ordinal)))
        {
            await HostCommands.TryRunAsync("ip", ["netns", "delete", name], cancellationToken);
            cleared++;
        }
        await HostCommands.TryRunAsync("ip", ["link", "delete", BridgeName], cancellationToken);
        foreach (var path in ReadLines(CreatedPathsFile).Reverse()) RemoveIfEmpty(path);
        try
        {
            if (Directory.Exists(Path.Combine(DataRoot, $"slot-{Index}"))) Directory.Delete(Path.Combine(DataRoot, $"slot-{Index}"), recursive: true);
            if (Directory.Exists(StateDirectory)) Directory.Delete(StateDirectory, recursive: true);
        }
        catch (IOException e)
        {
            log.Warning("Could not remove the state of local node slot {Slot}: {Error}", Index, e.Message);
        }
        if (cleared > 0) log.Information("Cleared {Count} processes and network namespaces left by an earlier run in slot {Slot}", cleared, Index);
    }

    /// <summary>Mount points at or below <paramref name="root"/> in this process's mount namespace.</summary>
    public static IEnumerable<string> MountsUnder(string root)
    {
        var prefix = root.TrimEnd('/') + "/";
        return File.ReadLines("/proc/self/mountinfo")
            .Select(l => l.Split(' ')[4].Replace("\\040", " ", StringComparison.Ordinal))
            .Where(m => m == root || m.StartsWith(prefix, StringComparison.Ordinal))
            .Distinct()
            .ToList();
    }

    private static IEnumerable<string> ReadLines(string file) =>
        File.Exists(file) ? File.ReadAllLines(file).Where(l => l.Length > 0).ToList() : [];

    private static void RemoveIfEmpty(string path)
    {
        try
        {
            if (Directory.Exists(path) && !Directory.EnumerateFileSystemEntries(path).Any()) Directory.Delete(path);
            else if (File.Exists(path) && new FileInfo(path).Length == 0) File.Delete(path);
        }
        catch (IOException)
        {
            // in use (a mount point of someone else's): leave it
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    public void Dispose() => _lock.Dispose();
}
