using System.Text;

namespace AnalysisFacility.LocalCluster.Node;

/// <summary>
/// How one container start is run on this machine, as a shell script for the pod's network namespace and a
/// private mount and UTS namespace of its own: bind mounts at the mount paths (propagation where asked), the
/// pod's hosts and resolv.conf, the working directory, then exec of the command as the container's identity.
/// Pure: it only says what to run.
/// </summary>
public static class ContainerLaunch
{
    /// <summary>The argv that starts the container (the log file receives stdout and stderr).</summary>
    public static IReadOnlyList<string> Command(string netns, string scriptPath, string logPath, bool propagates, IReadOnlyList<string> command) =>
    [
        "/bin/sh", "-c", "exec >>\"$0\" 2>&1 </dev/null; exec /usr/bin/setsid \"$@\"", logPath,
        // nsenter and unshare exec in place, so the pid we keep is the container's main process.
        "/usr/bin/nsenter", $"--net=/run/netns/{netns}", "--",
        "/usr/bin/unshare", "--mount", "--uts", "--propagation", propagates ? "unchanged" : "private", "--",
        "/bin/sh", scriptPath, .. command,
    ];

    public static string Script(string hostname, IReadOnlyList<ContainerMount> mounts, string hostsFile, string resolvConf, string? workingDir,
        ContainerIdentity identity)
    {
        var script = new StringBuilder("set -e\n");
        script.Append("/usr/bin/hostname ").Append(Quote(hostname)).Append('\n');
        var propagated = mounts.Where(m => m.Propagates).ToList();
        if (propagated.Count > 0)
        {
            // The namespace started as a copy of the host's, mounts shared: make every mount private except the
            // propagated sources (shared on the host), so only those exchange mounts with the host.
            var keep = string.Join('|', propagated.SelectMany(m => new[] { Quote(m.Source), Quote(m.Source.TrimEnd('/') + "/") + "*" }));
            script.Append("while read -r _ _ _ _ mp _; do case \"$mp\" in ").Append(keep)
                  .Append(") ;; *) /usr/bin/mount --make-private \"$mp\" 2>/dev/null || true ;; esac; done < /proc/self/mountinfo\n");
            foreach (var mount in propagated)
            {
                script.Append("/usr/bin/mount --bind ").Append(Quote(mount.Source)).Append(' ').Append(Quote(mount.Target)).Append('\n');
                if (mount.Propagation == "HostToContainer") script.Append("/usr/bin/mount --make-slave ").Append(Quote(mount.Target)).Append('\n');
            }
        }
        foreach (var mount in mounts.Where(m => !m.Propagates).OrderBy(m => m.Target.Count(c => c == '/')))
        {
            script.Append("/usr/bin/mount --bind ").Append(Quote(mount.Source)).Append(' ').Append(Quote(mount.Target)).Append('\n');
            if (mount.ReadOnly) script.Append("/usr/bin/mount -o remount,bind,ro ").Append(Quote(mount.Target)).Append('\n');
        }
        foreach (var mount in propagated.Where(m => m.ReadOnly))
        {
            script.Append("/usr/bin/mount -o remount,bind,ro ").Append(Quote(mount.Target)).Append('\n');
        }
        script.Append("/usr/bin/mount --bind ").Append(Quote(hostsFile)).Append(" /etc/hosts\n");
        script.Append("/usr/bin/mount --bind ").Append(Quote(resolvConf)).Append(" /etc/resolv.conf\n");
        script.Append("cd ").Append(Quote(workingDir is { Length: > 0 } w ? w : "/")).Append('\n');
        script.Append("exec /usr/bin/setpriv");
        foreach (var argument in identity.SetprivArguments()) script.Append(' ').Append(Quote(argument));
        script.Append(" -- \"$@\"\n");
        return script.ToString();
    }

    /// <summary>The argv that runs <paramref name="command"/> inside a running container, as `kubectl exec` would.</summary>
    public static IReadOnlyList<string> Exec(int containerPid, string? workingDir, ContainerIdentity identity, IReadOnlyList<string> command) =>
    [
        "/usr/bin/nsenter", $"--target={containerPid}", "--net", "--mount", "--uts", $"--wd={(workingDir is { Length: > 0 } w ? w : "/")}", "--",
        "/usr/bin/setpriv", .. identity.SetprivArguments(), "--", .. command,
    ];

    public static string Quote(string value) => "'" + value.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
}
