namespace AnalysisFacility.LocalCluster.Node;

/// <summary>Finds container logs of pods running on any local node of this machine (for `dev logs`, from another process).</summary>
public static class NodeLogs
{
    /// <summary>Log files of <paramref name="pod"/> ("namespace/name"), by container name.</summary>
    public static IReadOnlyDictionary<string, string> Find(string pod)
    {
        var found = new Dictionary<string, string>(StringComparer.Ordinal);
        if (!Directory.Exists(NodeSlot.DataRoot)) return found;
        foreach (var marker in Directory.EnumerateFiles(NodeSlot.DataRoot, "pod", new EnumerationOptions { RecurseSubdirectories = true, MaxRecursionDepth = 3 }))
        {
            if (File.ReadAllText(marker).Trim() != pod) continue;
            var logs = Path.Combine(Path.GetDirectoryName(marker)!, "logs");
            if (!Directory.Exists(logs)) continue;
            foreach (var file in Directory.EnumerateFiles(logs, "*.log")) found[Path.GetFileNameWithoutExtension(file)] = file;
        }
        return found;
    }
}
