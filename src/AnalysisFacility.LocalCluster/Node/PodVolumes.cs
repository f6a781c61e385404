using System.Text;
using k8s.Models;

namespace AnalysisFacility.LocalCluster.Node;

/// <summary>A pod's volumes on this machine: where each one's files are, and whether they are rewritten in place.</summary>
public sealed class PodVolumes
{
    private readonly V1Pod _pod;
    private readonly string _directory;
    private readonly KubeReads _reads;
    private readonly Action<string> _recordCreatedPath;
    private readonly Dictionary<string, string> _paths = new(StringComparer.Ordinal);
    private readonly Dictionary<string, AtomicDirectory> _atomic = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DateTimeOffset> _tokenRefresh = new(StringComparer.Ordinal);
    private readonly List<string> _mounts = [];

    public PodVolumes(V1Pod pod, string directory, KubeReads reads, Action<string> recordCreatedPath)
    {
        _pod = pod;
        _directory = directory;
        _reads = reads;
        _recordCreatedPath = recordCreatedPath;
    }

    /// <summary>tmpfs mounts made for `emptyDir: {medium: Memory}` (unmounted at clean-up).</summary>
    public IReadOnlyList<string> Mounts => _mounts;

    public string HostPath(string volume) => _paths.TryGetValue(volume, out var path) ? path
        : throw new VolumeNotReadyException($"volume '{volume}' is not defined in the pod spec");

    public bool IsAtomic(string volume) => _atomic.ContainsKey(volume);

    public string ResolveSubPath(string volume, string subPath) =>
        _atomic.TryGetValue(volume, out var atomic) ? atomic.Resolve(subPath) : Path.Combine(HostPath(volume), subPath);

    /// <summary>Sets every volume up; throws <see cref="VolumeNotReadyException"/> while one cannot be.</summary>
    public async Task SetUpAsync(CancellationToken ct)
    {
        foreach (var volume in _pod.Spec.Volumes ?? [])
        {
            if (_paths.ContainsKey(volume.Name)) continue;
            var dir = Path.Combine(_directory, "volumes", volume.Name);
            if (volume.EmptyDir is { } emptyDir)
            {
                Directory.CreateDirectory(dir);
                if (emptyDir.Medium == "Memory")
                {
                    var size = emptyDir.SizeLimit is { } limit ? $",size={limit.ToInt64()}" : "";
                    await HostCommands.RunAsync("mount", ["-t", "tmpfs", "-o", $"mode=1777{size}", "tmpfs", dir], ct);
                    _mounts.Add(dir);
                }
                File.SetUnixFileMode(dir, (UnixFileMode)Convert.ToInt32("1777", 8));
                _paths[volume.Name] = dir;
            }
            else if (volume.HostPath is { } hostPath)
            {
                _paths[volume.Name] = PrepareHostPath(hostPath);
            }
            else if (volume.PersistentVolumeClaim is { } claimSource)
            {
                _paths[volume.Name] = await ClaimPathAsync(claimSource.ClaimName, ct);
            }
            else if (volume.ConfigMap is not null || volume.Secret is not null || volume.Projected is not null || volume.DownwardAPI is not null)
            {
                var atomic = new AtomicDirectory(dir);
                atomic.Write(await RenderAsync(volume, ct), _pod.Spec.SecurityContext?.FsGroup is { } g ? (int)g : null);
                _atomic[volume.Name] = atomic;
                _paths[volume.Name] = dir;
            }
            else
            {
                throw new VolumeNotReadyException($"volume '{volume.Name}' is of a kind this node does not provide (emptyDir, hostPath, persistentVolumeClaim, configMap, secret, projected and downwardAPI are)");
            }
            if (volume.EmptyDir is not null && _pod.Spec.SecurityContext?.FsGroup is { } fsGroup) _ = Native.Chown(dir, 0, (int)fsGroup);
        }
    }

    /// <summary>Rewrites ConfigMap, Secret, projected and downward API volumes whose sources changed (tokens before expiry).</summary>
    public async Task RefreshAsync(CancellationToken ct)
    {
        foreach (var volume in _pod.Spec.Volumes ?? [])
        {
            if (!_atomic.TryGetValue(volume.Name, out var atomic)) continue;
            try
            {
                atomic.Write(await RenderAsync(volume, ct), _pod.Spec.SecurityContext?.FsGroup is { } g ? (int)g : null);
            }
            catch (VolumeNotReadyException)
            {
                // A source deleted after start: the kubelet keeps the last content too.
            }
        }
    }

    private string PrepareHostPath(V1HostPathVolumeSource source)
    {
        var path = source.Path;
        switch (source.Type ?? "")
        {
            case "DirectoryOrCreate":
                if (!Directory.Exists(path))
                {
                    Directory.CreateDirectory(path);
                    File.SetUnixFileMode(path, (UnixFileMode)Convert.ToInt32("755", 8));
                }
                break;
            case "Directory":
                if (!Directory.Exists(path)) throw new VolumeNotReadyException($"hostPath type check failed: {path} is not a directory");
                break;
            case "FileOrCreate":
                if (!File.Exists(path))
                {
                    Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                    File.WriteAllBytes(path, []);
                }
                break;
            case "File":
                if (!File.Exists(path)) throw new VolumeNotReadyException($"hostPath type check failed: {path} is not a file");
                break;
            case "":
                if (!File.Exists(path) && !Directory.Exists(path))
                {
                    _recordCreatedPath(path);
                    Directory.CreateDirectory(path);
                }
                break;
        }
        return path;
    }

    private async Task<string> ClaimPathAsync(string claimName, CancellationToken ct)
    {
        var ns = _pod.Metadata.NamespaceProperty;
        var claim = await _reads.ClaimAsync(ns, claimName, ct) ?? throw new VolumeNotReadyException($"persistentvolumeclaim \"{claimName}\" not found");
        if (claim.Status?.Phase != "Bound" || claim.Spec.VolumeName is not { Length: > 0 } volumeName)
        {
            throw new VolumeNotReadyException($"persistentvolumeclaim \"{claimName}\" is not bound (phase {claim.Status?.Phase ?? "Pending"})");
        }
        var volume = await _reads.VolumeAsync(volumeName, ct) ?? throw new VolumeNotReadyException($"persistentvolume \"{volumeName}\" not found");
        var path = volume.Spec.HostPath?.Path ?? volume.Spec.Local?.Path
                   ?? throw new VolumeNotReadyException($"persistentvolume \"{volumeName}\" is neither hostPath nor local, the kinds this node mounts");
        if (!Directory.Exists(path)) throw new VolumeNotReadyException($"persistentvolume \"{volumeName}\": {path} does not exist on this node");
        return path;
    }

    private async Task<Dictionary<string, (byte[] Content, UnixFileMode Mode)>> RenderAsync(V1Volume volume, CancellationToken ct)
    {
        var files = new Dictionary<string, (byte[], UnixFileMode)>(StringComparer.Ordinal);
        var ns = _pod.Metadata.NamespaceProperty;
        if (volume.ConfigMap is { } cm)
        {
            await AddConfigMapAsync(files, ns, cm.Name, cm.Items, cm.Optional == true, Mode(cm.DefaultMode), ct);
        }
        else if (volume.Secret is { } secret)
        {
            await AddSecretAsync(files, ns, secret.SecretName, secret.Items, secret.Optional == true, Mode(secret.DefaultMode), ct);
        }
        else if (volume.DownwardAPI is { } downward)
        {
            AddDownward(files, downward.Items, Mode(downward.DefaultMode));
        }
        else if (volume.Projected is { } projected)
        {
            var mode = Mode(projected.DefaultMode);
            foreach (var source in projected.Sources ?? [])
            {
                if (source.ConfigMap is { } pcm) await AddConfigMapAsync(files, ns, pcm.Name, pcm.Items, pcm.Optional == true, mode, ct);
                if (source.Secret is { } ps) await AddSecretAsync(files, ns, ps.Name, ps.Items, ps.Optional == true, mode, ct);
                if (source.DownwardAPI is { } pd) AddDownward(files, pd.Items, mode);
                if (source.ServiceAccountToken is { } token) files[token.Path] = (await TokenAsync(volume.Name, token, ct), mode);
            }
        }
        return files;
    }

    private readonly Dictionary<string, byte[]> _tokens = new(StringComparer.Ordinal);

    private async Task<byte[]> TokenAsync(string volume, V1ServiceAccountTokenProjection projection, CancellationToken ct)
    {
        var key = $"{volume}/{projection.Path}";
        if (_tokens.TryGetValue(key, out var cached) && _tokenRefresh[key] > DateTimeOffset.UtcNow) return cached;
        var lifetime = projection.ExpirationSeconds ?? 3600;
        var answer = await _reads.TokenAsync(_pod.Metadata.NamespaceProperty, _pod.Spec.ServiceAccountName ?? "default", projection.Audience, lifetime, _pod, ct);
        var token = Encoding.UTF8.GetBytes(answer.Status.Token);
        _tokens[key] = token;
        // The kubelet renews at 80% of the lifetime.
        _tokenRefresh[key] = DateTimeOffset.UtcNow.AddSeconds(lifetime * 0.8);
        return token;
    }

    private async Task AddConfigMapAsync(Dictionary<string, (byte[], UnixFileMode)> files, string ns, string name, IList<V1KeyToPath>? items, bool optional,
        UnixFileMode mode, CancellationToken ct)
    {
        var map = await _reads.ConfigMapAsync(ns, name, ct);
        if (map is null)
        {
            if (optional) return;
            throw new VolumeNotReadyException($"configmap \"{name}\" not found");
        }
        var data = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var (k, v) in map.Data ?? new Dictionary<string, string>()) data[k] = Encoding.UTF8.GetBytes(v);
        foreach (var (k, v) in map.BinaryData ?? new Dictionary<string, byte[]>()) data[k] = v;
        AddKeys(files, data, items, optional, mode, $"configmap \"{name}\"");
    }

    private async Task AddSecretAsync(Dictionary<string, (byte[], UnixFileMode)> files, string ns, string name, IList<V1KeyToPath>? items, bool optional,
        UnixFileMode mode, CancellationToken ct)
    {
        var secret = await _reads.SecretAsync(ns, name, ct);
        if (secret is null)
        {
            if (optional) return;
            throw new VolumeNotReadyException($"secret \"{name}\" not found");
        }
        AddKeys(files, new Dictionary<string, byte[]>(secret.Data ?? new Dictionary<string, byte[]>(), StringComparer.Ordinal), items, optional, mode, $"secret \"{name}\"");
    }

    private static void AddKeys(Dictionary<string, (byte[], UnixFileMode)> files, IReadOnlyDictionary<string, byte[]> data, IList<V1KeyToPath>? items,
        bool optional, UnixFileMode mode, string what)
    {
        if (items is null || items.Count == 0)
        {
            foreach (var (key, value) in data) files[key] = (value, mode);
            return;
        }
        foreach (var item in items)
        {
            if (!data.TryGetValue(item.Key, out var value))
            {
                if (optional) continue;
                throw new VolumeNotReadyException($"{what} has no key \"{item.Key}\"");
            }
            files[item.Path] = (value, item.Mode is { } m ? (UnixFileMode)m : mode);
        }
    }

    private void AddDownward(Dictionary<string, (byte[], UnixFileMode)> files, IList<V1DownwardAPIVolumeFile>? items, UnixFileMode mode)
    {
        foreach (var item in items ?? [])
        {
            var value = item.FieldRef is { } field ? DownwardApi.Field(_pod, field.FieldPath, null)
                : item.ResourceFieldRef is { } resource ? DownwardApi.Resource(_pod, resource, null) : "";
            files[item.Path] = (Encoding.UTF8.GetBytes(value), item.Mode is { } m ? (UnixFileMode)m : mode);
        }
    }

    /// <summary>The API's defaultMode (decimal of an octal mode), 0644 when unset, as the kubelet defaults it.</summary>
    private static UnixFileMode Mode(int? mode) => (UnixFileMode)(mode ?? Convert.ToInt32("644", 8));

}
