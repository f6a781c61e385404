namespace AnalysisFacility.LocalCluster.Node;

/// <summary>Reads /proc: a process's start time (to tell a pid from its reuse) and the members of its session.</summary>
public static class ProcessTable
{
    /// <summary>Field 22 of /proc/PID/stat (clock ticks since boot), or null when the process is gone.</summary>
    public static string? StartTime(int pid)
    {
        var fields = StatFields(pid);
        return fields is { Length: > 19 } ? fields[19] : null;
    }

    /// <summary>Processes whose session id is <paramref name="sessionId"/>.</summary>
    public static IReadOnlyList<int> SessionMembers(int sessionId)
    {
        var members = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid)) continue;
            var fields = StatFields(pid);
            // Fields after the command: state, ppid, pgrp, session (fields 3-6 of stat).
            if (fields is { Length: > 3 } && int.TryParse(fields[3], out var session) && session == sessionId) members.Add(pid);
        }
        return members;
    }

    /// <summary>Sends <paramref name="signal"/> to every process of the session led by <paramref name="sessionId"/>.</summary>
    public static void SignalSession(int sessionId, int signal)
    {
        foreach (var pid in SessionMembers(sessionId)) _ = Native.Kill(pid, signal);
    }

    public static void KillSession(int sessionId) => SignalSession(sessionId, Native.SIGKILL);

    /// <summary>The stat fields after the parenthesised command name (which may itself hold spaces).</summary>
    private static string[]? StatFields(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var close = stat.LastIndexOf(')');
            return close < 0 ? null : stat[(close + 2)..].Split(' ');
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }
}
