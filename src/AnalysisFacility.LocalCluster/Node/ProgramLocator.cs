namespace AnalysisFacility.LocalCluster.Node;

/// <summary>Whether a container's program exists on this machine (there are no images: the command runs with what is installed).</summary>
public static class ProgramLocator
{
    /// <summary>Null when the program is here; else why the container cannot run on this node.</summary>
    public static string? WhyNotRunnable(IReadOnlyList<string> command, string image, string path)
    {
        if (command.Count == 0)
        {
            return $"the container gives no command, and the entrypoint of image {image} is not known on this node (no images are pulled here)";
        }
        var program = command[0];
        if (program.Contains('/', StringComparison.Ordinal))
        {
            return IsExecutable(program) ? null : $"program {program} (image {image}) does not exist on this node";
        }
        return path.Split(':', StringSplitOptions.RemoveEmptyEntries).Any(dir => IsExecutable(Path.Combine(dir, program))) ? null
            : $"program '{program}' (image {image}) is not installed on this node (searched {path})";
    }

    private static bool IsExecutable(string file) =>
        File.Exists(file) && (File.GetUnixFileMode(file) & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) != 0;
}
