using System.Security.Cryptography;
using System.Text;

namespace AnalysisFacility.LocalCluster.Node;

/// <summary>
/// A volume directory written the way the kubelet's atomic writer does it: the files live in a timestamped
/// directory, `..data` points at it and each top-level name is a link through `..data`. An update writes a new
/// directory and swaps `..data` in one rename, so a whole-volume mount sees the new files at once, while a subPath
/// mount (bound to the file itself) keeps the version it started with.
/// </summary>
public sealed class AtomicDirectory
{
    private readonly string _path;
    private string? _version;

    public AtomicDirectory(string path)
    {
        _path = path;
        Directory.CreateDirectory(path);
    }

    public string Path => _path;

    /// <summary>Writes <paramref name="files"/> (relative path -> content and mode); does nothing when they are unchanged.</summary>
    public bool Write(IReadOnlyDictionary<string, (byte[] Content, UnixFileMode Mode)> files, int? group)
    {
        var version = Fingerprint(files, group);
        if (version == _version) return false;
        var stamp = $"..{DateTime.UtcNow:yyyy_MM_dd_HH_mm_ss.fffffff}";
        var dataDir = System.IO.Path.Combine(_path, stamp);
        Directory.CreateDirectory(dataDir);
        foreach (var (relative, (content, mode)) in files)
        {
            var file = System.IO.Path.Combine(dataDir, relative);
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(file)!);
            File.WriteAllBytes(file, content);
            var effective = mode;
            if (group is { } g)
            {
                // fsGroup: the group owns the files and may read them, as the kubelet's SetVolumeOwnership does.
                _ = Native.Chown(file, 0, g);
                effective |= UnixFileMode.GroupRead;
            }
            File.SetUnixFileMode(file, effective);
        }
        var temporary = System.IO.Path.Combine(_path, "..data_tmp");
        if (new FileInfo(temporary).LinkTarget is not null) File.Delete(temporary);
        File.CreateSymbolicLink(temporary, stamp);
        if (Native.Rename(temporary, System.IO.Path.Combine(_path, "..data")) != 0)
        {
            throw new IOException($"could not swap {_path}/..data (errno {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()})");
        }
        var topLevel = files.Keys.Select(k => k.Split('/')[0]).ToHashSet(StringComparer.Ordinal);
        foreach (var name in topLevel)
        {
            var link = System.IO.Path.Combine(_path, name);
            if (new FileInfo(link).LinkTarget is null) File.CreateSymbolicLink(link, System.IO.Path.Combine("..data", name));
        }
        foreach (var entry in new DirectoryInfo(_path).EnumerateFileSystemInfos())
        {
            if (entry.Name is "..data") continue;
            if (entry.Name.StartsWith("..", StringComparison.Ordinal) && entry.Name != stamp) Directory.Delete(entry.FullName, recursive: true);
            else if (!entry.Name.StartsWith("..", StringComparison.Ordinal) && !topLevel.Contains(entry.Name)) entry.Delete();
        }
        _version = version;
        return true;
    }

    /// <summary>The real file behind <paramref name="relative"/> now (what a subPath mount binds).</summary>
    public string Resolve(string relative)
    {
        var data = new FileInfo(System.IO.Path.Combine(_path, "..data")).LinkTarget ?? throw new InvalidOperationException("volume not written yet");
        return System.IO.Path.Combine(_path, data, relative);
    }

    private static string Fingerprint(IReadOnlyDictionary<string, (byte[] Content, UnixFileMode Mode)> files, int? group)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(Encoding.UTF8.GetBytes($"group={group}\n"));
        foreach (var (name, (content, mode)) in files.OrderBy(f => f.Key, StringComparer.Ordinal))
        {
            hash.AppendData(Encoding.UTF8.GetBytes($"{name}\n{(int)mode}\n{content.Length}\n"));
            hash.AppendData(content);
        }
        return Convert.ToHexString(hash.GetHashAndReset());
    }
}
