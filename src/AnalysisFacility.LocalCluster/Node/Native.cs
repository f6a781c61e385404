using System.Runtime.InteropServices;

namespace AnalysisFacility.LocalCluster.Node;

/// <summary>The few libc calls .NET does not offer: signals to a pid.</summary>
internal static partial class Native
{
    public const int SIGKILL = 9;
    public const int SIGTERM = 15;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    public static partial int Kill(int pid, int signal);
}

internal static partial class Native
{
    [LibraryImport("libc", EntryPoint = "chown", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Chown(string path, int owner, int group);
}

internal static partial class Native
{
    /// <summary>rename(2): atomic, and it moves a symbolic link itself (File.Move looks through it).</summary>
    [LibraryImport("libc", EntryPoint = "rename", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Rename(string from, string to);
}
