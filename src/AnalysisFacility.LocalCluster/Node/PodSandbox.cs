using System.Diagnostics;
using System.Net;
using k8s.Models;

namespace AnalysisFacility.LocalCluster.Node;

/// <summary>
/// What the containers of one pod share on this machine: its network namespace and address, its directory (volumes,
/// logs, scripts), its hosts file and resolv.conf, and the way into a running container.
/// </summary>
public sealed class PodSandbox
{
    private readonly NodeContext _node;
    private readonly Action _changed;

    public PodSandbox(NodeContext node, V1Pod pod, string netns, IPAddress podIp, Action changed)
    {
        _node = node;
        Pod = pod;
        Netns = netns;
        PodIp = podIp;
        _changed = changed;
        Directory = Path.Combine(node.Slot.PodsDirectory, pod.Metadata.Uid);
        System.IO.Directory.CreateDirectory(Directory);
        // Names the pod for readers of the node's files (`dev logs`), which know pods by name, not uid.
        File.WriteAllText(Path.Combine(Directory, "pod"), $"{pod.Metadata.NamespaceProperty}/{pod.Metadata.Name}");
        Volumes = new PodVolumes(pod, Directory, node.Reads, RecordCreatedPath);
        HostsFile = Path.Combine(Directory, "hosts");
        ResolvConf = Path.Combine(Directory, "resolv.conf");
        File.WriteAllText(ResolvConf, ClusterDns.ResolvConf(pod.Metadata.NamespaceProperty));
        UpdateHostsFile();
    }

    public V1Pod Pod { get; }
    public string Netns { get; }
    public IPAddress PodIp { get; }
    public string Directory { get; }
    public PodVolumes Volumes { get; }
    public string HostsFile { get; }
    public string ResolvConf { get; }
    public string Hostname => Pod.Spec.Hostname ?? Pod.Metadata.Name;

    public void Changed() => _changed();

    public void RecordProcess(int pid) => _node.Slot.RecordLine(_node.Slot.ProcessesFile, $"{pid} {ProcessTable.StartTime(pid)}");

    private void RecordCreatedPath(string path) => _node.Slot.RecordLine(_node.Slot.CreatedPathsFile, path);

    /// <summary>Rewrites the hosts file in place (same inode, so the bind mounts in running containers see it).</summary>
    public void UpdateHostsFile()
    {
        var text = ClusterDns.HostsFile(Pod, PodIp.ToString(), _node.Services, _node.Endpoints);
        if (File.Exists(HostsFile) && File.ReadAllText(HostsFile) == text) return;
        using var stream = new FileStream(HostsFile, FileMode.OpenOrCreate, FileAccess.Write);
        stream.SetLength(0);
        stream.Write(System.Text.Encoding.UTF8.GetBytes(text));
        File.SetUnixFileMode(HostsFile, (UnixFileMode)Convert.ToInt32("644", 8));
    }

    public Task<Dictionary<string, string>> EnvironmentForAsync(V1Container container, CancellationToken ct) =>
        _node.Environment.ResolveAsync(Pod, container, PodIp.ToString(), _node.Capacity, _node.Services, ct);

    /// <summary>The container's bind mounts, mount points created on this machine where they are missing.</summary>
    public IReadOnlyList<ContainerMount> MountsFor(V1Container container, IReadOnlyDictionary<string, string> env)
    {
        var mounts = new List<ContainerMount>();
        foreach (var mount in container.VolumeMounts ?? [])
        {
            var subPath = mount.SubPathExpr is { Length: > 0 } expr ? ContainerEnvironment.Expand(expr, env) : mount.SubPath;
            string source;
            if (subPath is { Length: > 0 })
            {
                if (subPath.Split('/').Contains("..") || Path.IsPathRooted(subPath)) throw new VolumeNotReadyException($"subPath '{subPath}' must be a relative path inside the volume");
                source = Volumes.ResolveSubPath(mount.Name, subPath);
                // As the kubelet: a missing subPath of a writable volume is created as a directory.
                if (!File.Exists(source) && !System.IO.Directory.Exists(source))
                {
                    if (Volumes.IsAtomic(mount.Name)) throw new VolumeNotReadyException($"subPath '{subPath}' does not exist in volume '{mount.Name}'");
                    System.IO.Directory.CreateDirectory(source);
                }
            }
            else
            {
                source = Volumes.HostPath(mount.Name);
            }
            var propagation = mount.MountPropagation ?? "None";
            if (propagation != "None") _node.MakeShared(Volumes.HostPath(mount.Name));
            EnsureMountPoint(mount.MountPath, isDirectory: System.IO.Directory.Exists(source));
            mounts.Add(new ContainerMount(source, mount.MountPath, mount.ReadOnlyProperty == true, propagation));
        }
        return mounts;
    }

    private void EnsureMountPoint(string path, bool isDirectory)
    {
        var missing = new List<string>();
        for (var p = isDirectory ? path : Path.GetDirectoryName(path)!; !System.IO.Directory.Exists(p) && p != "/"; p = Path.GetDirectoryName(p)!) missing.Add(p);
        foreach (var dir in Enumerable.Reverse(missing))
        {
            RecordCreatedPath(dir);
            System.IO.Directory.CreateDirectory(dir);
        }
        if (!isDirectory && !File.Exists(path))
        {
            RecordCreatedPath(path);
            File.WriteAllBytes(path, []);
        }
    }

    /// <summary>Runs <paramref name="command"/> in a running container's namespaces, with its environment and identity.</summary>
    public async Task<ExecResult> ExecAsync(ContainerRunner container, IReadOnlyList<string> command, TimeSpan timeout, CancellationToken ct)
    {
        var pid = container.Pid ?? throw new InvalidOperationException($"container {container.Name} of pod {Pod.Metadata.Name} is not running");
        var identity = ContainerIdentity.Of(Pod, container.Spec);
        var argv = ContainerLaunch.Exec(pid, container.Spec.WorkingDir, identity, command);
        var info = new ProcessStartInfo(argv[0]) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (var argument in argv.Skip(1)) info.ArgumentList.Add(argument);
        info.Environment.Clear();
        foreach (var (k, v) in container.Environment) info.Environment[k] = v;
        using var process = Process.Start(info) ?? throw new InvalidOperationException("could not start nsenter");
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync(ct);
        var stderr = process.StandardError.ReadToEndAsync(ct);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(timeout);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(CancellationToken.None);
            return new ExecResult(-1, await stdout, await stderr + $"\n(exec timed out after {timeout})");
        }
        return new ExecResult(process.ExitCode, await stdout, await stderr);
    }
}

/// <summary>What a command run inside a container printed and how it ended.</summary>
public sealed record ExecResult(int ExitCode, string Stdout, string Stderr);
